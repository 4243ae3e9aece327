package io.newsstream.es.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.apache.lucene.analysis.bg.BulgarianAnalyzer;
import org.apache.lucene.analysis.bn.BengaliAnalyzer;
import org.apache.lucene.analysis.br.BrazilianAnalyzer;
import org.apache.lucene.analysis.ca.CatalanAnalyzer;
import org.apache.lucene.analysis.cjk.CJKAnalyzer;
import org.apache.lucene.analysis.ckb.SoraniAnalyzer;
import org.apache.lucene.analysis.cz.CzechAnalyzer;
import org.apache.lucene.analysis.da.DanishAnalyzer;
import org.apache.lucene.analysis.de.GermanAnalyzer;
import org.apache.lucene.analysis.el.GreekAnalyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.es.SpanishAnalyzer;
import org.apache.lucene.analysis.et.EstonianAnalyzer;
import org.apache.lucene.analysis.eu.BasqueAnalyzer;
import org.apache.lucene.analysis.fa.PersianAnalyzer;
import org.apache.lucene.analysis.fi.FinnishAnalyzer;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.ga.IrishAnalyzer;
import org.apache.lucene.analysis.gl.GalicianAnalyzer;
import org.apache.lucene.analysis.hi.HindiAnalyzer;
import org.apache.lucene.analysis.hu.HungarianAnalyzer;
import org.apache.lucene.analysis.hy.ArmenianAnalyzer;
import org.apache.lucene.analysis.id.IndonesianAnalyzer;
import org.apache.lucene.analysis.it.ItalianAnalyzer;
import org.apache.lucene.analysis.lt.LithuanianAnalyzer;
import org.apache.lucene.analysis.lv.LatvianAnalyzer;
import org.apache.lucene.analysis.nl.DutchAnalyzer;
import org.apache.lucene.analysis.no.NorwegianAnalyzer;
import org.apache.lucene.analysis.pt.PortugueseAnalyzer;
import org.apache.lucene.analysis.ro.RomanianAnalyzer;
import org.apache.lucene.analysis.ru.RussianAnalyzer;
import org.apache.lucene.analysis.sr.SerbianAnalyzer;
import org.apache.lucene.analysis.sv.SwedishAnalyzer;
import org.apache.lucene.analysis.th.ThaiAnalyzer;
import org.apache.lucene.analysis.tr.TurkishAnalyzer;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.Analysis;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Elasticsearch's language analyzers ({@code english}, {@code russian}, ...) built from the Lucene
 * classes that Elasticsearch's analysis-common module wraps, with the same {@code stopwords},
 * {@code stopwords_path} and {@code stem_exclusion} parameters, so an index template written for a
 * full Elasticsearch works unchanged on the embedded node.
 */
final class LanguageAnalyzers {

    private LanguageAnalyzers() {}

    /** One language: its default stop set and how to build the analyzer from (stopwords, stem exclusions). */
    record Language(CharArraySet defaultStopwords, BiFunction<CharArraySet, CharArraySet, Analyzer> build) {}

    static final Map<String, Language> LANGUAGES = languages();

    private static Map<String, Language> languages() {
        Map<String, Language> m = new LinkedHashMap<>();
        m.put("arabic", new Language(ArabicAnalyzer.getDefaultStopSet(), ArabicAnalyzer::new));
        m.put("armenian", new Language(ArmenianAnalyzer.getDefaultStopSet(), ArmenianAnalyzer::new));
        m.put("basque", new Language(BasqueAnalyzer.getDefaultStopSet(), BasqueAnalyzer::new));
        m.put("bengali", new Language(BengaliAnalyzer.getDefaultStopSet(), BengaliAnalyzer::new));
        m.put("brazilian", new Language(BrazilianAnalyzer.getDefaultStopSet(), BrazilianAnalyzer::new));
        m.put("bulgarian", new Language(BulgarianAnalyzer.getDefaultStopSet(), BulgarianAnalyzer::new));
        m.put("catalan", new Language(CatalanAnalyzer.getDefaultStopSet(), CatalanAnalyzer::new));
        m.put("cjk", new Language(CJKAnalyzer.getDefaultStopSet(), (stop, excl) -> new CJKAnalyzer(stop)));
        m.put("czech", new Language(CzechAnalyzer.getDefaultStopSet(), CzechAnalyzer::new));
        m.put("danish", new Language(DanishAnalyzer.getDefaultStopSet(), DanishAnalyzer::new));
        m.put("dutch", new Language(DutchAnalyzer.getDefaultStopSet(), DutchAnalyzer::new));
        m.put("english", new Language(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, EnglishAnalyzer::new));
        m.put("estonian", new Language(EstonianAnalyzer.getDefaultStopSet(), EstonianAnalyzer::new));
        m.put("finnish", new Language(FinnishAnalyzer.getDefaultStopSet(), FinnishAnalyzer::new));
        m.put("french", new Language(FrenchAnalyzer.getDefaultStopSet(), FrenchAnalyzer::new));
        m.put("galician", new Language(GalicianAnalyzer.getDefaultStopSet(), GalicianAnalyzer::new));
        m.put("german", new Language(GermanAnalyzer.getDefaultStopSet(), GermanAnalyzer::new));
        m.put("greek", new Language(GreekAnalyzer.getDefaultStopSet(), (stop, excl) -> new GreekAnalyzer(stop)));
        m.put("hindi", new Language(HindiAnalyzer.getDefaultStopSet(), HindiAnalyzer::new));
        m.put("hungarian", new Language(HungarianAnalyzer.getDefaultStopSet(), HungarianAnalyzer::new));
        m.put("indonesian", new Language(IndonesianAnalyzer.getDefaultStopSet(), IndonesianAnalyzer::new));
        m.put("irish", new Language(IrishAnalyzer.getDefaultStopSet(), IrishAnalyzer::new));
        m.put("italian", new Language(ItalianAnalyzer.getDefaultStopSet(), ItalianAnalyzer::new));
        m.put("latvian", new Language(LatvianAnalyzer.getDefaultStopSet(), LatvianAnalyzer::new));
        m.put("lithuanian", new Language(LithuanianAnalyzer.getDefaultStopSet(), LithuanianAnalyzer::new));
        m.put("norwegian", new Language(NorwegianAnalyzer.getDefaultStopSet(), NorwegianAnalyzer::new));
        m.put("persian", new Language(PersianAnalyzer.getDefaultStopSet(), (stop, excl) -> new PersianAnalyzer(stop)));
        m.put("portuguese", new Language(PortugueseAnalyzer.getDefaultStopSet(), PortugueseAnalyzer::new));
        m.put("romanian", new Language(RomanianAnalyzer.getDefaultStopSet(), RomanianAnalyzer::new));
        m.put("russian", new Language(RussianAnalyzer.getDefaultStopSet(), RussianAnalyzer::new));
        m.put("serbian", new Language(SerbianAnalyzer.getDefaultStopSet(), SerbianAnalyzer::new));
        m.put("sorani", new Language(SoraniAnalyzer.getDefaultStopSet(), SoraniAnalyzer::new));
        m.put("spanish", new Language(SpanishAnalyzer.getDefaultStopSet(), SpanishAnalyzer::new));
        m.put("swedish", new Language(SwedishAnalyzer.getDefaultStopSet(), SwedishAnalyzer::new));
        m.put("thai", new Language(ThaiAnalyzer.getDefaultStopSet(), (stop, excl) -> new ThaiAnalyzer(stop)));
        m.put("turkish", new Language(TurkishAnalyzer.getDefaultStopSet(), TurkishAnalyzer::new));
        return Map.copyOf(m);
    }

    /** The per-index provider: reads the analyzer's parameters the way Elasticsearch does. */
    static final class Provider extends AbstractIndexAnalyzerProvider<Analyzer> {
        private final Analyzer analyzer;

        Provider(IndexSettings indexSettings, Environment env, String name, Settings settings, Language language) {
            super(name, settings);
            CharArraySet stopwords = Analysis.parseStopWords(env, settings, language.defaultStopwords());
            CharArraySet stemExclusion = Analysis.parseStemExclusion(settings, CharArraySet.EMPTY_SET);
            this.analyzer = language.build().apply(stopwords, stemExclusion);
        }

        @Override
        public Analyzer get() {
            return analyzer;
        }
    }
}
