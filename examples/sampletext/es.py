"""Plantillas en español. Personas y empresas ficticias, lugares reales."""

LANG = "es"

SOURCES = [("El Faro del Sur", "farodelsur.example"), ("Crónica Mediterránea", "cronicamed.example")]

FIRST = ["Lucía", "Javier", "Marta", "Diego", "Carmen", "Álvaro", "Paula", "Sergio", "Irene", "Raúl"]
LAST = ["Salvatierra", "Montoya", "Quintana", "Albornoz", "Echeverría", "Peñalver", "Villaseñor",
        "Castaño", "Robledo", "Iturbe"]

CITIES = [(c, f"en {c}") for c in ["Valencia", "Sevilla", "Bilbao", "Zaragoza", "Málaga",
                                    "Granada", "Valladolid", "Alicante", "Córdoba", "Oviedo"]]
COUNTRIES = ["Portugal", "Marruecos", "Chile", "México", "Argentina"]
MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
          "octubre", "noviembre", "diciembre"]
WEEKDAYS = ["el lunes", "el martes", "el miércoles", "el jueves", "el viernes", "el sábado",
            "el domingo"]
TEAMS = ["Atlético Ribera", "Deportivo Marisma", "Unión Alcornoque", "CD Puerto Claro"]
WIRE_CREDIT = "Información de {p3}; edición de {p2}"

TOPICS = {
    "business": {
        "roles": ["consejera delegada", "director financiero", "analista de Banca Lebrija",
                  "portavoz del sindicato", "economista de la Fundación Ágora"],
        "orgs": ["Conservas Marineras", "Aceites del Guadalquivir", "Transportes Cierzo",
                 "Cerámica Levantina", "Naviera Albufera"],
        "titles": [
            "{org1} recortará {nm} empleos {in_city}",
            "{org1} compra {org2} por {money}",
            "Las ventas de {org2} crecen un {pct} % en el trimestre",
        ],
        "leads": [
            "{org1} anunció {day} que suprimirá unos {nm} puestos de trabajo en su planta {in_city}.",
            "{org1} ha alcanzado un acuerdo para adquirir a su rival {org2} por {money}.",
        ],
        "body": [
            "La facturación del trimestre aumentó un {pct} % hasta {money}.",
            "Los analistas esperaban un crecimiento cercano al {pct2} %.",
            "La empresa da empleo a unas {nb} personas en toda España.",
            "{p2}, {r2}, atribuyó la decisión al encarecimiento de la energía.",
            "Los sindicatos convocaron concentraciones frente a la fábrica {in_city}.",
            "{org2} fue fundada {in_city2} en {year}.",
            "Las exportaciones a {country} subieron un {pct} %.",
            "{p3}, {r3}, considera el precio elevado pero razonable.",
            "La operación debe recibir todavía el visto bueno de la autoridad de competencia.",
        ],
        "quotes": [
            "«Hemos tomado decisiones difíciles para poder seguir invirtiendo», afirmó {p1}.",
            "«El mercado no esperaba estas cifras», señaló {p3}.",
        ],
        "closings": [
            "{org1} presentará sus resultados anuales en {month}.",
            "Las acciones de {org2} cerraron con una caída del {pct2} %.",
        ],
    },
    "weather": {
        "roles": ["portavoz de la Agencia de Meteorología", "jefe de bomberos de {city}",
                  "hidróloga de la confederación del río"],
        "orgs": ["la Agencia de Meteorología", "Protección Civil", "los bomberos de {city}"],
        "titles": [
            "Alerta por rachas de {wind} km/h {in_city}",
            "Ola de calor: hasta {temp} grados {in_city}",
            "Lluvias torrenciales inundan calles {in_city}",
        ],
        "leads": [
            "{org1} ha activado la alerta naranja {in_city}, donde se esperan rachas de hasta {wind} km/h {day}.",
            "Los termómetros {in_city} podrían alcanzar los {temp} grados esta semana.",
        ],
        "body": [
            "La alerta estará vigente hasta {day} por la noche.",
            "Unos {nb} hogares se quedaron sin luz durante varias horas.",
            "Renfe suspendió {nm} trenes de cercanías.",
            "{p1}, {r1}, explicó que la borrasca avanza muy despacio.",
            "Los embalses están al {pct} % de su capacidad.",
            "Los servicios de emergencia rescataron a {nm} personas atrapadas en sus coches.",
            "No hacía tanto calor en {month} desde {year}.",
            "{p2}, {r2}, pidió a los vecinos que no aparquen bajo los árboles.",
        ],
        "quotes": [
            "«No crucen nunca una calle inundada», insistió {p2}.",
            "«Hacía una década que no veíamos rachas así», dijo {p1l}.",
        ],
        "closings": [
            "La alerta se revisará {day} por la mañana.",
            "Se espera un tiempo más suave a partir del fin de semana.",
        ],
    },
}
