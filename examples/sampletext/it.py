"""Modelli in italiano. Persone e aziende inventate, luoghi reali."""

LANG = "it"

SOURCES = [("Gazzetta del Porto", "gazzettaporto.example"), ("Il Corriere Lagunare", "corrierelagunare.example")]

FIRST = ["Giulia", "Marco", "Francesca", "Luca", "Chiara", "Davide", "Elena", "Stefano", "Sara",
         "Paolo"]
LAST = ["Bellandi", "Cortesi", "Ferraresi", "Galvani", "Lombardini", "Mancuso", "Orsolini",
        "Pellegrini", "Rinaldi", "Zanetti"]

CITIES = [(c, f"a {c}") for c in ["Torino", "Bologna", "Genova", "Firenze", "Napoli", "Bari",
                                   "Verona", "Trieste", "Palermo", "Padova"]]
COUNTRIES = ["Austria", "Slovenia", "Croazia", "Grecia", "Tunisia"]
MONTHS = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
          "settembre", "ottobre", "novembre", "dicembre"]
WEEKDAYS = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"]
TEAMS = ["Virtus Collina", "Pro Laguna", "Atletico Ponente", "Sporting Valverde"]
WIRE_CREDIT = "Ha collaborato {p3}; a cura di {p2}"

TOPICS = {
    "culture": {
        "roles": ["direttrice del museo", "direttore artistico del festival", "curatrice della mostra",
                  "critico musicale"],
        "orgs": ["il Museo del Mare", "il Teatro delle Arcate", "l'Orchestra del Lungofiume"],
        "titles": [
            "{org1} riapre dopo {ns} anni di restauri",
            "Record di presenze per il festival {in_city}",
            "Una partitura perduta eseguita per la prima volta {in_city}",
        ],
        "leads": [
            "{org1} ha riaperto le porte {day} dopo un restauro costato {money}.",
            "Oltre {nb} spettatori hanno assistito al festival {in_city}, secondo gli organizzatori.",
        ],
        "body": [
            "Il lucernario, danneggiato da una tempesta nel {year}, è stato sostituito.",
            "I biglietti per il primo fine settimana sono andati esauriti in {nm} minuti.",
            "{p2}, {r2}, racconta che la collezione era rimasta in cantina per decenni.",
            "La mostra riunisce {nm} opere, molte delle quali mai esposte prima.",
            "Il manoscritto è stato ritrovato in una soffitta {in_city2} da un'insegnante in pensione.",
            "{p3}, {r3}, definisce le nuove sale le più audaci del paese.",
            "La tournée toccherà diverse città e si concluderà {in_city2} a {month}.",
            "L'ingresso resterà gratuito la prima domenica di ogni mese.",
        ],
        "quotes": [
            "«Volevamo un luogo aperto a tutti», spiega {p2}.",
            "«Ascoltare questa musica per la prima volta è stato commovente», dice {p3}.",
        ],
        "closings": [
            "La mostra resterà aperta fino alla fine di {month}.",
            "Il festival tornerà {in_city} il prossimo anno.",
        ],
    },
    "sport": {
        "roles": ["allenatore", "capitano", "direttore sportivo", "ex nazionale"],
        "orgs": ["la Lega Calcio Costiera", "la Federazione di canottaggio"],
        "titles": [
            "La {team1} batte la {team2} {s1}-{s2}",
            "La {team2} esonera l'allenatore dopo {ns} sconfitte",
            "{p1} vince la tappa di {city} in volata",
        ],
        "leads": [
            "La {team1} ha battuto {day} la {team2} per {s1}-{s2} davanti a {nb} spettatori.",
            "{p1} ha vinto la sesta tappa del giro, imponendosi in volata sulle strade bagnate di {city}.",
        ],
        "body": [
            "{p2} ha sbloccato il risultato al {min}' con un tiro rasoterra.",
            "Gli ospiti hanno dominato il primo tempo ma si sono arresi a {p3}.",
            "La tappa misurava {nm} chilometri con due salite nel finale.",
            "Il vento laterale ha spezzato il gruppo a {nm} chilometri dall'arrivo.",
            "Gli spettatori allo stadio {in_city} sono calati del {pct} per cento.",
            "La partita è iniziata con {nm} minuti di ritardo per la pioggia.",
            "{p1l} guida ora la classifica generale con {ns} secondi di vantaggio.",
            "I tifosi della {team2} hanno contestato la società a fine gara.",
        ],
        "quotes": [
            "«Oggi la squadra ha mostrato carattere», ha detto {p3}, {r3}.",
            "«Sull'ultima salita avevo ancora forze e ho attaccato», ha raccontato {p1l}.",
        ],
        "closings": [
            "Il ritorno si giocherà a {month}.",
            "Il giro prosegue {day} con una tappa di montagna.",
        ],
    },
}
