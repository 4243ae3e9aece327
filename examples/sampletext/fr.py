"""Modèles de phrases en français. Personnes et entreprises fictives, lieux réels."""

LANG = "fr"

SOURCES = [
    ("Le Courrier du Rhône", "courrier-rhone.example"),
    ("L'Écho de la Côte", "echo-cote.example"),
    ("Dépêche du Nord", "depeche-nord.example"),
]

FIRST = ["Camille", "Julien", "Élodie", "Mathieu", "Sandrine", "Nicolas", "Aurélie", "Thomas",
         "Claire", "Antoine", "Manon", "Yves", "Léa", "Bruno", "Inès", "Rémi", "Solène", "Hugo"]
LAST = ["Marchand", "Lefebvre", "Duclos", "Gauthier", "Berthelot", "Roussel", "Vasseur",
        "Caillaud", "Fontaine", "Perrin", "Lemoine", "Bonnard", "Chevalier", "Mercier", "Aubert",
        "Delorme", "Guérin", "Tessier"]

CITIES = [(c, f"à {c}") for c in [
    "Lyon", "Marseille", "Bordeaux", "Nantes", "Lille", "Toulouse", "Strasbourg", "Rennes",
    "Montpellier", "Grenoble", "Brest", "Dijon", "Genève", "Lausanne", "Liège", "Namur",
]]

COUNTRIES = ["la Belgique", "la Suisse", "l'Espagne", "l'Italie", "le Maroc", "le Québec"]

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]

TEAMS = ["l'Olympique Riveraine", "le Stade Littoral", "l'AS Val-de-Brume", "le FC Hauts-Plateaux",
         "l'US Port-Clairon", "le Racing Sablonnières"]

WIRE_CREDIT = "Avec {p3} à {city}; édité par {p2}"

TOPICS = {
    "politics": {
        "roles": ["présidente du groupe Élan citoyen", "adjoint au maire chargé des transports",
                  "politologue à l'université de {city}", "député de la circonscription",
                  "porte-parole de la préfecture"],
        "orgs": ["Élan citoyen", "le Rassemblement des communes", "la Cour régionale des comptes",
                 "le Collectif des locataires"],
        "titles": [
            "Le conseil municipal de {city} reporte le vote du budget",
            "La Cour régionale des comptes épingle un chantier de {money} {in_city}",
            "{p1} démissionne de son poste d'adjoint aux transports",
            "Référendum local {in_city} : le non l'emporte",
            "Accord de coalition trouvé {in_city} après {ns} semaines",
        ],
        "leads": [
            "Le conseil municipal de {city} a reporté {day} le vote du budget après un débat houleux.",
            "{p1}, {r1}, réclame un audit indépendant de tous les contrats supérieurs à {money}.",
            "Après {ns} semaines de négociations, les groupes politiques {in_city} ont trouvé un compromis.",
        ],
        "body": [
            "Le différend porte sur {nm} contrats signés depuis {year}.",
            "{p2}, {r2}, affirme n'avoir reçu les chiffres que {day} matin.",
            "Le coût de la nouvelle école a augmenté de {pct} %.",
            "La participation au dernier scrutin n'avait atteint que {pct2} %.",
            "Les opposants estiment que les locataires des quartiers populaires en profiteront peu.",
            "Un projet similaire {in_city2} avait permis de réduire les listes d'attente.",
            "Plusieurs centaines de personnes ont manifesté devant la mairie pour des loyers abordables.",
            "Selon le projet, les communes conserveraient {pct} % des nouvelles taxes.",
            "{p3}, {r3}, juge le calendrier irréaliste.",
            "La mairie promet de publier la liste des prestataires avant la fin de {month}.",
            "Les sondages placent les deux camps à {ns} points d'écart.",
            "{p1l} doit être entendu de nouveau par la commission {day}.",
        ],
        "quotes": [
            "« On nous disait que l'argent était là, et il n'y est pas », a déclaré {p2}.",
            "« Ce n'est pas une crise des chiffres, c'est une crise de confiance », estime {p3}, {r3}.",
            "« Les habitants de {city} sont lassés des reports », a lancé {p2l}.",
        ],
        "closings": [
            "Le vote définitif est prévu {day}.",
            "{org1} annoncera la suite après avoir consulté ses adhérents.",
        ],
    },
    "business": {
        "roles": ["directrice générale", "directeur financier", "analyste chez Kestrel Finance",
                  "déléguée syndicale", "économiste à l'Institut du commerce", "fondateur de l'entreprise"],
        "orgs": ["Verrerie Montclair", "Transports Garonne", "Laiterie des Alpilles", "Chantiers Vendôme",
                 "Énergie Côtière", "Textiles Beaulieu", "Groupe Hermeline"],
        "titles": [
            "{org1} supprime {nm} postes {in_city}",
            "{org1} rachète {org2} pour {money}",
            "L'action {org1} bondit de {pct} % après des résultats surprises",
            "L'inflation ralentit à {pct} % en {month}",
            "{org2} ouvre un entrepôt géant près de {city}",
        ],
        "leads": [
            "{org1} va supprimer environ {nm} postes sur son site {in_city}, a annoncé l'entreprise {day}.",
            "{org1} a conclu un accord pour racheter son concurrent {org2} pour {money}.",
            "L'action {org1} a gagné {pct} % {day} après la publication de résultats meilleurs que prévu.",
        ],
        "body": [
            "Le chiffre d'affaires du trimestre a progressé de {pct} % à {money}.",
            "Les analystes tablaient sur une hausse d'environ {pct2} %.",
            "Le groupe emploie près de {nb} personnes dans le monde.",
            "{p2}, {r2}, explique la décision par la flambée des prix de l'énergie.",
            "Les syndicats dénoncent une annonce faite sans concertation.",
            "L'opération doit encore être validée par l'Autorité de la concurrence.",
            "{org2} a été fondé {in_city2} en {year}.",
            "La marge opérationnelle est tombée à {pct2} %.",
            "Le nouvel entrepôt doit créer {nm} emplois d'ici {month} {fyear}.",
            "{p3}, {r3}, juge le prix élevé mais cohérent.",
            "Hors de France, les ventes ont progressé de {pct} %, portées notamment par {country}.",
            "{p1l} n'exclut pas d'autres fermetures de sites.",
        ],
        "quotes": [
            "« Nous avons pris des décisions difficiles pour continuer à investir », a déclaré {p1}.",
            "« Le marché ne s'y attendait pas du tout », souligne {p3}, {r3}.",
            "« Les clients achètent toujours, mais moins cher », observe {p2l}.",
        ],
        "closings": [
            "{org1} publiera ses résultats annuels en {month}.",
            "L'action {org2} a clôturé en baisse de {pct2} %.",
        ],
    },
    "culture": {
        "roles": ["directrice du musée", "directeur artistique du festival", "commissaire de l'exposition",
                  "cheffe d'orchestre", "producteur du film", "critique littéraire"],
        "orgs": ["le musée des Arts de la mer", "le théâtre des Quais", "l'Orchestre de la Vallée",
                 "le festival Lumières d'hiver"],
        "titles": [
            "{org1} rouvre après {ns} ans de travaux",
            "Le roman de {p1} couronné par le prix des lecteurs",
            "Record d'affluence pour le festival {in_city}",
            "Une partition perdue jouée pour la première fois {in_city}",
            "{nm} photographies du vieux port offertes au musée de {city}",
        ],
        "leads": [
            "{org1} a rouvert ses portes {day} après une rénovation de {money}.",
            "Le troisième roman de {p1}, qui se déroule dans un village de pêcheurs, a remporté le prix des lecteurs.",
            "Plus de {nb} spectateurs ont assisté au festival {in_city}, selon les organisateurs.",
        ],
        "body": [
            "La verrière, endommagée par une tempête en {year}, a été entièrement remplacée.",
            "Les billets pour le week-end d'ouverture se sont arrachés en {nm} minutes.",
            "{p2}, {r2}, raconte que la collection dormait dans des caisses depuis des décennies.",
            "L'exposition réunit {nm} œuvres, dont beaucoup n'avaient jamais été montrées.",
            "Le manuscrit a été retrouvé dans un grenier {in_city2} par une ancienne professeure de musique.",
            "La tournée passera par plusieurs villes avant de s'achever {in_city2} en {month}.",
            "{p3}, {r3}, qualifie les nouvelles salles de plus audacieuses du pays.",
            "Le prix est doté de {money}.",
            "Le film a été tourné pendant {nm} jours sur les quais de {city}.",
            "Les droits de traduction ont déjà été vendus dans {nm} pays.",
            "L'entrée restera gratuite le premier dimanche de chaque mois.",
        ],
        "quotes": [
            "« Nous voulions que ce lieu soit ouvert à tous », explique {p2}, {r2}.",
            "« Entendre cette musique pour la première fois était bouleversant », confie {p3}.",
            "« La culture n'est pas un luxe pour une ville comme {city} », affirme {p2l}.",
        ],
        "closings": [
            "L'exposition est visible jusqu'à la fin de {month}.",
            "Le festival reviendra {in_city} l'an prochain.",
        ],
    },
    "weather": {
        "roles": ["prévisionniste à Météo-Littoral", "porte-parole des pompiers", "hydrologue",
                  "responsable de la cellule de crise de {city}"],
        "orgs": ["Météo-Littoral", "les pompiers de {city}", "le service de prévision des crues"],
        "titles": [
            "Tempête : rafales à {wind} km/h attendues {in_city}",
            "Canicule : jusqu'à {temp} °C {in_city}",
            "Chutes de neige : routes coupées autour de {city}",
            "Crues : vigilance orange sur les rivières près de {city}",
        ],
        "leads": [
            "Une alerte tempête a été déclenchée pour {city}, avec des rafales jusqu'à {wind} km/h attendues {day}.",
            "Le thermomètre pourrait atteindre {temp} °C {in_city} cette semaine.",
            "Jusqu'à {rain} millimètres de pluie sont tombés cette nuit {in_city}.",
        ],
        "body": [
            "L'alerte reste en vigueur jusqu'à {day} soir, selon {org1}.",
            "Environ {nb} foyers ont été privés d'électricité.",
            "La SNCF a supprimé {nm} trains régionaux.",
            "{p1}, {r1}, précise que la dépression se déplace lentement.",
            "Les rivières ont monté de plus d'un mètre en une journée.",
            "Les liaisons maritimes vers les îles sont suspendues jusqu'à {day}.",
            "Il n'avait pas fait aussi chaud en {month} depuis {year}.",
            "Les secours ont évacué {nm} personnes bloquées dans leur voiture.",
            "Les réserves d'eau ne sont remplies qu'à {pct} %.",
            "{p2}, {r2}, indique que des sacs de sable sont distribués dans {ns} communes.",
        ],
        "quotes": [
            "« Ne traversez jamais une route inondée », martèle {p2}, {r2}.",
            "« On n'avait pas vu de telles rafales depuis dix ans », note {p1l}.",
        ],
        "closings": [
            "La vigilance sera réévaluée {day} matin.",
            "Un temps plus doux est attendu en fin de semaine.",
        ],
    },
}
