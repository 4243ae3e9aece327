package io.newsstream.es.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicStemFilter;
import org.apache.lucene.analysis.bg.BulgarianStemFilter;
import org.apache.lucene.analysis.bn.BengaliStemFilter;
import org.apache.lucene.analysis.br.BrazilianStemFilter;
import org.apache.lucene.analysis.ckb.SoraniStemFilter;
import org.apache.lucene.analysis.cz.CzechStemFilter;
import org.apache.lucene.analysis.de.GermanLightStemFilter;
import org.apache.lucene.analysis.de.GermanMinimalStemFilter;
import org.apache.lucene.analysis.el.GreekStemFilter;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.es.SpanishLightStemFilter;
import org.apache.lucene.analysis.es.SpanishPluralStemFilter;
import org.apache.lucene.analysis.fa.PersianStemFilter;
import org.apache.lucene.analysis.fi.FinnishLightStemFilter;
import org.apache.lucene.analysis.fr.FrenchLightStemFilter;
import org.apache.lucene.analysis.fr.FrenchMinimalStemFilter;
import org.apache.lucene.analysis.gl.GalicianMinimalStemFilter;
import org.apache.lucene.analysis.gl.GalicianStemFilter;
import org.apache.lucene.analysis.hi.HindiStemFilter;
import org.apache.lucene.analysis.hu.HungarianLightStemFilter;
import org.apache.lucene.analysis.id.IndonesianStemFilter;
import org.apache.lucene.analysis.it.ItalianLightStemFilter;
import org.apache.lucene.analysis.lv.LatvianStemFilter;
import org.apache.lucene.analysis.no.NorwegianLightStemFilter;
import org.apache.lucene.analysis.no.NorwegianLightStemmer;
import org.apache.lucene.analysis.no.NorwegianMinimalStemFilter;
import org.apache.lucene.analysis.pt.PortugueseLightStemFilter;
import org.apache.lucene.analysis.pt.PortugueseMinimalStemFilter;
import org.apache.lucene.analysis.pt.PortugueseStemFilter;
import org.apache.lucene.analysis.ru.RussianLightStemFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.sv.SwedishLightStemFilter;
import org.apache.lucene.analysis.sv.SwedishMinimalStemFilter;

import java.util.HashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The {@code language} values of Elasticsearch's {@code stemmer} token filter, mapped to the Lucene
 * stemmers they denote (Snowball where Elasticsearch's documentation names Snowball).
 */
final class Stemmers {

    private Stemmers() {}

    static final Map<String, UnaryOperator<TokenStream>> BY_LANGUAGE = build();

    private static UnaryOperator<TokenStream> snowball(String name) {
        return ts -> new SnowballFilter(ts, name);
    }

    private static Map<String, UnaryOperator<TokenStream>> build() {
        Map<String, UnaryOperator<TokenStream>> m = new HashMap<>();
        m.put("arabic", ArabicStemFilter::new);
        m.put("armenian", snowball("Armenian"));
        m.put("basque", snowball("Basque"));
        m.put("bengali", BengaliStemFilter::new);
        m.put("brazilian", BrazilianStemFilter::new);
        m.put("bulgarian", BulgarianStemFilter::new);
        m.put("catalan", snowball("Catalan"));
        m.put("czech", CzechStemFilter::new);
        m.put("danish", snowball("Danish"));
        m.put("dutch", snowball("Dutch"));
        m.put("dutch_kp", snowball("Kp"));
        m.put("english", PorterStemFilter::new);
        m.put("porter", PorterStemFilter::new);
        m.put("porter2", snowball("English"));
        m.put("light_english", KStemFilter::new);
        m.put("kstem", KStemFilter::new);
        m.put("minimal_english", EnglishMinimalStemFilter::new);
        m.put("possessive_english", EnglishPossessiveFilter::new);
        m.put("lovins", snowball("Lovins"));
        m.put("estonian", snowball("Estonian"));
        m.put("finnish", snowball("Finnish"));
        m.put("light_finnish", FinnishLightStemFilter::new);
        m.put("french", snowball("French"));
        m.put("light_french", FrenchLightStemFilter::new);
        m.put("minimal_french", FrenchMinimalStemFilter::new);
        m.put("galician", GalicianStemFilter::new);
        m.put("minimal_galician", GalicianMinimalStemFilter::new);
        m.put("german", snowball("German"));
        m.put("german2", snowball("German2"));
        m.put("light_german", GermanLightStemFilter::new);
        m.put("minimal_german", GermanMinimalStemFilter::new);
        m.put("greek", GreekStemFilter::new);
        m.put("hindi", HindiStemFilter::new);
        m.put("hungarian", snowball("Hungarian"));
        m.put("light_hungarian", HungarianLightStemFilter::new);
        m.put("indonesian", IndonesianStemFilter::new);
        m.put("irish", snowball("Irish"));
        m.put("italian", snowball("Italian"));
        m.put("light_italian", ItalianLightStemFilter::new);
        m.put("latvian", LatvianStemFilter::new);
        m.put("lithuanian", snowball("Lithuanian"));
        m.put("norwegian", snowball("Norwegian"));
        m.put("light_norwegian", ts -> new NorwegianLightStemFilter(ts, NorwegianLightStemmer.BOKMAAL));
        m.put("minimal_norwegian", ts -> new NorwegianMinimalStemFilter(ts, NorwegianLightStemmer.BOKMAAL));
        m.put("light_nynorsk", ts -> new NorwegianLightStemFilter(ts, NorwegianLightStemmer.NYNORSK));
        m.put("minimal_nynorsk", ts -> new NorwegianMinimalStemFilter(ts, NorwegianLightStemmer.NYNORSK));
        m.put("persian", PersianStemFilter::new);
        m.put("portuguese", snowball("Portuguese"));
        m.put("light_portuguese", PortugueseLightStemFilter::new);
        m.put("minimal_portuguese", PortugueseMinimalStemFilter::new);
        m.put("portuguese_rslp", PortugueseStemFilter::new);
        m.put("romanian", snowball("Romanian"));
        m.put("russian", snowball("Russian"));
        m.put("light_russian", RussianLightStemFilter::new);
        m.put("serbian", snowball("Serbian"));
        m.put("sorani", SoraniStemFilter::new);
        m.put("spanish", snowball("Spanish"));
        m.put("light_spanish", SpanishLightStemFilter::new);
        m.put("spanish_plural", SpanishPluralStemFilter::new);
        m.put("swedish", snowball("Swedish"));
        m.put("light_swedish", SwedishLightStemFilter::new);
        m.put("minimal_swedish", SwedishMinimalStemFilter::new);
        m.put("turkish", snowball("Turkish"));
        return Map.copyOf(m);
    }

    static UnaryOperator<TokenStream> forLanguage(String language) {
        UnaryOperator<TokenStream> s = BY_LANGUAGE.get(language.toLowerCase(java.util.Locale.ROOT));
        if (s == null) {
            throw new IllegalArgumentException("unknown stemmer language [" + language + "]");
        }
        return s;
    }
}
