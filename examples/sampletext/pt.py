"""Modelos em português. Pessoas e empresas fictícias, lugares reais."""

LANG = "pt"

SOURCES = [("Diário do Atlântico", "diarioatlantico.example"), ("Folha da Serra", "folhadaserra.example")]

FIRST = ["Beatriz", "João", "Mariana", "Tiago", "Inês", "Rodrigo", "Catarina", "Gonçalo",
         "Larissa", "Felipe"]
LAST = ["Albuquerque", "Magalhães", "Figueiredo", "Sampaio", "Quaresma", "Valadares", "Junqueira",
        "Brandão", "Teixeira", "Carvalhal"]

CITIES = [(c, f"em {c}") for c in ["Lisboa", "Porto", "Coimbra", "Braga", "Faro", "Recife",
                                    "Salvador", "Curitiba", "Belo Horizonte", "Manaus"]]
COUNTRIES = ["Angola", "Moçambique", "Cabo Verde", "Espanha", "Uruguai"]
MONTHS = ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
          "setembro", "outubro", "novembro", "dezembro"]
WEEKDAYS = ["na segunda-feira", "na terça-feira", "na quarta-feira", "na quinta-feira",
            "na sexta-feira", "no sábado", "no domingo"]
TEAMS = ["Grémio Maré Alta", "Atlético Serrano", "União Ribeirinha", "Sporting Cais Novo"]
WIRE_CREDIT = "Reportagem de {p3}; edição de {p2}"

TOPICS = {
    "science": {
        "roles": ["bióloga marinha da Universidade de {city}", "coordenador da expedição",
                  "diretora do Observatório da Serra", "geólogo"],
        "orgs": ["o Observatório da Serra", "o Instituto do Mar", "o Centro de Estudos Amazónicos"],
        "titles": [
            "Cientistas {in_city} descobrem fóssil de réptil marinho",
            "{org1} regista explosão de estrela distante",
            "Estudo liga aquecimento do mar ao declínio das algas",
        ],
        "leads": [
            "Uma equipa liderada por {p1}, {r1}, publicou {day} os resultados de um estudo de {ns} anos.",
            "Investigadores {in_city} apresentaram provas que podem mudar a forma como se estuda o oceano.",
        ],
        "body": [
            "Os investigadores analisaram {nb} amostras recolhidas desde {year}.",
            "{p2}, {r2}, considera o resultado surpreendente mas sólido.",
            "O fóssil foi encontrado por um estudante durante uma aula de campo perto de {city2}.",
            "A temperatura da água subiu {ns} décimas de grau por década.",
            "Os dados ficarão disponíveis para outros cientistas a partir de {month}.",
            "O financiamento veio de uma fundação sediada {in_city2}.",
            "{p3}, {r3}, alerta que a amostra ainda é pequena.",
            "A próxima expedição está prevista para {month} de {fyear}.",
        ],
        "quotes": [
            "«Não esperávamos um sinal tão claro», disse {p1l}.",
            "«É apenas uma peça de um puzzle muito maior», afirmou {p2}.",
        ],
        "closings": [
            "O artigo será publicado na versão impressa da revista em {month}.",
            "Os resultados serão apresentados numa conferência {in_city}.",
        ],
    },
    "business": {
        "roles": ["presidente executiva", "diretor financeiro", "analista do Banco Ribeira",
                  "economista"],
        "orgs": ["Cortiças do Tejo", "Vinhos Alto Douro", "Navegação Atlântida", "Calçado Minhoto"],
        "titles": [
            "{org1} corta {nm} postos de trabalho {in_city}",
            "{org1} compra {org2} por {money}",
            "Vendas da {org2} sobem {pct}% no trimestre",
        ],
        "leads": [
            "A {org1} anunciou {day} que vai eliminar cerca de {nm} postos de trabalho na fábrica {in_city}.",
            "A {org1} chegou a acordo para comprar a concorrente {org2} por {money}.",
        ],
        "body": [
            "A faturação do trimestre cresceu {pct}% para {money}.",
            "Os analistas esperavam um crescimento de cerca de {pct2}%.",
            "O grupo emprega cerca de {nb} pessoas.",
            "{p2}, {r2}, justificou a decisão com o aumento dos custos de energia.",
            "Os sindicatos marcaram uma concentração à porta da fábrica {in_city}.",
            "A {org2} foi fundada {in_city2} em {year}.",
            "As exportações para {country} aumentaram {pct}%.",
            "{p3}, {r3}, considera o preço elevado mas justificado.",
        ],
        "quotes": [
            "«Tomámos decisões difíceis para continuar a investir», disse {p1}.",
            "«O mercado não estava à espera destes números», afirmou {p3}.",
        ],
        "closings": [
            "A {org1} apresenta os resultados anuais em {month}.",
            "As ações da {org2} fecharam a cair {pct2}%.",
        ],
    },
}
