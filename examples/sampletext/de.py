"""Deutsche Satzvorlagen. Personen und Firmen sind erfunden, die Orte echt."""

LANG = "de"

SOURCES = [
    ("Rhein-Kurier", "rhein-kurier.example"),
    ("Nordstadt Zeitung", "nordstadt-zeitung.example"),
    ("Alpenblick Nachrichten", "alpenblick.example"),
]

FIRST = ["Johanna", "Matthias", "Katrin", "Florian", "Ulrike", "Tobias", "Sabine", "Henrik",
         "Anja", "Jens", "Miriam", "Stefan", "Lena", "Ralf", "Birgit", "Niklas", "Greta", "Volker"]
LAST = ["Vogelsang", "Hartmann", "Brenner", "Kästner", "Lindemann", "Oberhauser", "Pfeiffer",
        "Reinholz", "Schaller", "Tiedemann", "Wendland", "Zimmerer", "Altenburg", "Gruber",
        "Heinemann", "Kronberg", "Mertens", "Sauerbrey", "Unger", "Wiesner"]

CITIES = [(c, f"in {c}") for c in [
    "Hamburg", "Bremen", "Leipzig", "Dresden", "Köln", "Stuttgart", "Freiburg", "Hannover",
    "Nürnberg", "Kiel", "Rostock", "Graz", "Linz", "Basel", "Bern", "Mainz", "Münster",
]]

COUNTRIES = ["Österreich", "Ungarn", "Polen", "Dänemark", "Tschechien", "Norwegen"]

MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember"]
WEEKDAYS = ["am Montag", "am Dienstag", "am Mittwoch", "am Donnerstag", "am Freitag",
            "am Samstag", "am Sonntag"]

TEAMS = ["FC Elbufer", "SV Nordmark", "Eintracht Waldhausen", "TuS Heidekamp",
         "SC Rheinwiesen", "VfL Mühlenberg"]

WIRE_CREDIT = "Mitarbeit: {p3}; Redaktion: {p2}"

TOPICS = {
    "politics": {
        "roles": ["Fraktionsvorsitzende der Bürgerliste", "Stadtrat der Grünen Mitte",
                  "Politikwissenschaftler an der Universität {city}", "Oberbürgermeister",
                  "Sprecherin des Innenministeriums", "Landtagsabgeordneter"],
        "orgs": ["die Bürgerliste", "die Grüne Mitte", "der Landesrechnungshof",
                 "der Verband kommunaler Unternehmen", "der Mieterbund Nord"],
        "titles": [
            "Stadtrat {in_city} vertagt Entscheidung über Haushalt",
            "Landesrechnungshof rügt Kosten für Schulneubau {in_city}",
            "{p1} tritt als Verkehrsdezernent zurück",
            "Bürgerentscheid {in_city}: Mehrheit gegen neue Stadtautobahn",
            "Koalition {in_city} einigt sich auf Mietendeckel",
        ],
        "leads": [
            "Der Stadtrat {in_city} hat {day} nach stundenlanger Debatte die Entscheidung über den Haushalt vertagt.",
            "{p1}, {r1}, forderte {day} eine unabhängige Prüfung aller Bauverträge über {money}.",
            "Nach {ns} Wochen Verhandlungen haben sich die Fraktionen {in_city} auf einen Kompromiss verständigt.",
        ],
        "body": [
            "Im Mittelpunkt des Streits stehen {nm} Verträge, die seit {year} geschlossen wurden.",
            "{p2}, {r2}, sagte, die Zahlen seien erst {day} an die Fraktionen gegangen.",
            "Die Kosten für den Schulneubau sind um {pct} Prozent gestiegen.",
            "Bei der letzten Abstimmung lag die Wahlbeteiligung bei nur {pct2} Prozent.",
            "Kritiker bemängeln, dass Mieter in den ärmeren Stadtteilen kaum profitieren.",
            "{org2} kündigte an, eigene Berechnungen innerhalb von {ns} Wochen vorzulegen.",
            "Ein ähnliches Projekt {in_city2} hatte die Wartelisten deutlich verkürzt.",
            "Vor dem Rathaus demonstrierten mehrere hundert Menschen für bezahlbare Mieten.",
            "Nach dem Entwurf sollen die Kommunen {pct} Prozent der neuen Abgaben behalten dürfen.",
            "{p3}, {r3}, hält den Zeitplan für unrealistisch.",
            "Die Verwaltung will bis Ende {month} eine Liste aller Auftragnehmer veröffentlichen.",
            "Umfragen sehen beide Lager nur {ns} Prozentpunkte auseinander.",
            "{p1l} soll {day} erneut vor dem Ausschuss aussagen.",
        ],
        "quotes": [
            "„Uns wurde gesagt, das Geld sei da – jetzt stellt sich heraus, dass es fehlt“, sagte {p2}.",
            "„Das ist keine Krise der Zahlen, sondern eine Krise des Vertrauens“, sagte {p3}, {r3}.",
            "„Die Menschen {in_city} haben genug von Verschiebungen“, sagte {p2l}.",
        ],
        "closings": [
            "Die endgültige Abstimmung ist für {day} angesetzt.",
            "{org1} will das weitere Vorgehen mit den Mitgliedern beraten.",
        ],
    },
    "business": {
        "roles": ["Vorstandschefin", "Finanzvorstand", "Analyst der Kestrel Bank",
                  "Betriebsratsvorsitzende", "Ökonom am Institut für Handelsforschung", "Firmengründer"],
        "orgs": ["Elbwerk Maschinenbau", "Brauerei Kronsberg", "Lindholm Logistik", "Saaletal Chemie",
                 "Nordwind Energie", "Fahrzeugbau Hohenwald", "Bergmann Textil"],
        "titles": [
            "{org1} streicht {nm} Stellen {in_city}",
            "{org1} übernimmt {org2} für {money}",
            "Aktie von {org1} springt nach Gewinnsprung um {pct} Prozent",
            "Inflation in {country} sinkt auf {pct} Prozent",
            "{org2} baut neues Logistikzentrum bei {city}",
        ],
        "leads": [
            "{org1} will an seinem Standort {in_city} rund {nm} Stellen abbauen, wie das Unternehmen {day} mitteilte.",
            "{org1} übernimmt den Konkurrenten {org2} für {money}.",
            "Die Aktie von {org1} ist {day} um {pct} Prozent gestiegen, nachdem das Unternehmen überraschend gute Zahlen vorgelegt hatte.",
        ],
        "body": [
            "Der Umsatz stieg im Quartal um {pct} Prozent auf {money}.",
            "Analysten hatten mit einem Plus von etwa {pct2} Prozent gerechnet.",
            "Der Konzern beschäftigt weltweit rund {nb} Menschen.",
            "{p2}, {r2}, begründete den Schritt mit hohen Energiepreisen und schwacher Nachfrage.",
            "Die Gewerkschaft kündigte Widerstand an und verlangt Gespräche mit der Geschäftsführung.",
            "Die Übernahme muss noch vom Kartellamt genehmigt werden.",
            "{org2} wurde {year} {in_city2} gegründet.",
            "Die operative Marge sank auf {pct2} Prozent.",
            "Das neue Lager soll {nm} Arbeitsplätze schaffen und im {month} {fyear} öffnen.",
            "{p3}, {r3}, hält den Kaufpreis für hoch, aber strategisch sinnvoll.",
            "Die Exporte nach {country} legten um {pct} Prozent zu.",
            "{p1l} schloss weitere Werksschließungen nicht aus.",
            "Der Online-Anteil am Umsatz liegt inzwischen bei {pct} Prozent.",
        ],
        "quotes": [
            "„Wir haben schwierige Entscheidungen getroffen, damit wir weiter investieren können“, sagte {p1}.",
            "„Damit hat der Markt nicht gerechnet“, sagte {p3}, {r3}.",
            "„Die Kunden kaufen weiter, aber sie greifen zu günstigeren Produkten“, sagte {p2l}.",
        ],
        "closings": [
            "Die Jahreszahlen will {org1} im {month} vorlegen.",
            "Die Aktie von {org2} schloss {pct2} Prozent im Minus.",
        ],
    },
    "sport": {
        "roles": ["Cheftrainer", "Kapitän", "Torhüter", "Sportdirektor", "ehemaliger Nationalspieler",
                  "Renndirektorin"],
        "orgs": ["der Nordliga-Verband", "der Deutsche Ruderbund Nord", "der Radsportverband"],
        "titles": [
            "{team1} schlägt {team2} mit {s1}:{s2}",
            "{p1} gewinnt Sprintetappe nach {city}",
            "{team2} trennt sich nach {ns} Niederlagen vom Trainer",
            "{city} richtet Ruder-EM {fyear} aus",
            "Landesrekord für {p1} beim Hallenmeeting {in_city}",
        ],
        "leads": [
            "{team1} hat {day} mit {s1}:{s2} gegen {team2} gewonnen, vor {nb} Zuschauern.",
            "{p1} hat die sechste Etappe der Rundfahrt gewonnen und sich im Sprint in {city} durchgesetzt.",
            "{team2} hat sich nach {ns} Niederlagen in Folge von seinem Trainer getrennt.",
        ],
        "body": [
            "{p2} traf in der {min}. Minute mit einem flachen Schuss zur Führung.",
            "Die Gäste waren in der ersten Halbzeit überlegen, scheiterten aber an {p3}.",
            "Die Etappe führte über {nm} Kilometer und zwei Bergwertungen.",
            "Seitenwind riss das Feld {nm} Kilometer vor dem Ziel auseinander.",
            "Der Zuschauerschnitt im Stadion {in_city} ist um {pct} Prozent gesunken.",
            "Die Ablöse soll bei rund {money} liegen.",
            "Der Verteidiger musste kurz nach der Pause verletzt raus.",
            "Das Rückspiel findet im {month} statt.",
            "Wegen Starkregens begann die Partie mit {nm} Minuten Verspätung.",
            "Ruderteams aus {nm} Ländern haben gemeldet, teilte {org1} mit.",
            "{p1l} führt die Gesamtwertung nun mit {ns} Sekunden Vorsprung an.",
            "Fans von {team2} forderten nach dem Abpfiff personelle Konsequenzen.",
        ],
        "quotes": [
            "„Die Mannschaft hat heute Charakter gezeigt“, sagte {p3}, {r3}.",
            "„Am letzten Anstieg hatte ich noch Kraft, also habe ich attackiert“, sagte {p1l}.",
            "„Wir werden nicht in Panik verfallen, aber es muss sich etwas ändern“, sagte {p2}.",
        ],
        "closings": [
            "{team1} spielt {day} in {city2}.",
            "Die Rundfahrt wird {day} mit einer Bergetappe fortgesetzt.",
        ],
    },
    "weather": {
        "roles": ["Meteorologin beim Wetterdienst", "Sprecher der Feuerwehr", "Hydrologe",
                  "Leiter des Krisenstabs {city}"],
        "orgs": ["der Wetterdienst Nord", "die Feuerwehr {city}", "das Hochwasserzentrum"],
        "titles": [
            "Sturm mit {wind} km/h trifft {city}",
            "Hitzewarnung: bis zu {temp} Grad {in_city}",
            "Schneechaos rund um {city}",
            "Hochwasseralarm an der Elbe bei {city}",
        ],
        "leads": [
            "Der Wetterdienst hat für {city} eine Unwetterwarnung herausgegeben, {day} sind Böen bis {wind} km/h möglich.",
            "Die Temperaturen {in_city} könnten in dieser Woche auf {temp} Grad steigen.",
            "Bis zu {rain} Liter Regen pro Quadratmeter sind über Nacht {in_city} gefallen.",
        ],
        "body": [
            "Die Warnung gilt bis {day} am Abend, teilte {org1} mit.",
            "Rund {nb} Haushalte waren zeitweise ohne Strom.",
            "Die Bahn strich {nm} Verbindungen im Regionalverkehr.",
            "{p1}, {r1}, sagte, das Tief ziehe nur langsam nach Osten.",
            "Die Pegel stiegen binnen eines Tages um mehr als einen Meter.",
            "Fähren zu den Inseln fallen bis mindestens {day} aus.",
            "Zuletzt war es im {month} im Jahr {year} so heiß.",
            "Einsatzkräfte befreiten {nm} Menschen aus eingeschlossenen Autos.",
            "Der Winterdienst streute über Nacht {nb} Tonnen Salz.",
            "Die Talsperren sind nur zu {pct} Prozent gefüllt.",
            "{p2}, {r2}, sagte, an {ns} Stellen würden Sandsäcke ausgegeben.",
        ],
        "quotes": [
            "„Fahren Sie nicht durch überflutete Straßen“, sagte {p2}, {r2}.",
            "„Solche Böen hatten wir hier seit zehn Jahren nicht“, sagte {p1l}.",
        ],
        "closings": [
            "Die Warnung wird {day} früh überprüft.",
            "Ab dem Wochenende soll es milder werden.",
        ],
    },
}
