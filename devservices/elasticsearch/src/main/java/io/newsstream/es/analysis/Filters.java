package io.newsstream.es.analysis;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.cjk.CJKWidthFilter;
import org.apache.lucene.analysis.core.DecimalDigitFilter;
import org.apache.lucene.analysis.core.UpperCaseFilter;
import org.apache.lucene.analysis.de.GermanNormalizationFilter;
import org.apache.lucene.analysis.el.GreekLowerCaseFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.ga.IrishLowerCaseFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.LengthFilter;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.apache.lucene.analysis.miscellaneous.SetKeywordMarkerFilter;
import org.apache.lucene.analysis.miscellaneous.TrimFilter;
import org.apache.lucene.analysis.miscellaneous.TruncateTokenFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.tr.TurkishLowerCaseFilter;
import org.apache.lucene.analysis.util.ElisionFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * Token filters of Elasticsearch's analysis-common module, rebuilt on Lucene with the same names and
 * parameters. Filters that work on single terms are {@link NormalizingTokenFilterFactory}, which is
 * what lets a custom {@code normalizer} (keyword fields) use them, e.g. lowercase + asciifolding.
 */
final class Filters {

    private Filters() {}

    static Map<String, AnalysisProvider<TokenFilterFactory>> all() {
        Map<String, AnalysisProvider<TokenFilterFactory>> m = new TreeMap<>();
        m.put("asciifolding", (is, env, name, s) -> normalizing(name, s, ts -> new ASCIIFoldingFilter(ts, s.getAsBoolean("preserve_original", false))));
        m.put("lowercase", (is, env, name, s) -> normalizing(name, s, lowercase(s.get("language"))));
        m.put("uppercase", (is, env, name, s) -> normalizing(name, s, UpperCaseFilter::new));
        m.put("trim", (is, env, name, s) -> normalizing(name, s, TrimFilter::new));
        m.put("cjk_width", (is, env, name, s) -> normalizing(name, s, CJKWidthFilter::new));
        m.put("decimal_digit", (is, env, name, s) -> normalizing(name, s, DecimalDigitFilter::new));
        m.put("german_normalization", (is, env, name, s) -> normalizing(name, s, GermanNormalizationFilter::new));
        m.put("elision", (is, env, name, s) -> elision(env, name, s));
        m.put("stemmer", (is, env, name, s) -> plain(name, s, Stemmers.forLanguage(stemmerLanguage(s))));
        m.put("snowball", (is, env, name, s) -> {
            String language = s.get("language", "English");
            return plain(name, s, ts -> new SnowballFilter(ts, language));
        });
        m.put("porter_stem", (is, env, name, s) -> plain(name, s, PorterStemFilter::new));
        m.put("kstem", (is, env, name, s) -> plain(name, s, KStemFilter::new));
        m.put("keyword_marker", AnalysisPlugin.requiresAnalysisSettings((is, env, name, s) -> {
            boolean ignoreCase = s.getAsBoolean("ignore_case", false);
            CharArraySet keywords = Analysis.getWordSet(env, s, "keywords");
            if (keywords == null) {
                throw new IllegalArgumentException("keyword_marker [" + name + "] requires [keywords] or [keywords_path]");
            }
            CharArraySet set = new CharArraySet(keywords, ignoreCase);
            return plain(name, s, ts -> new SetKeywordMarkerFilter(ts, set));
        }));
        m.put("truncate", (is, env, name, s) -> {
            int length = s.getAsInt("length", 10);
            return plain(name, s, ts -> new TruncateTokenFilter(ts, length));
        });
        m.put("length", (is, env, name, s) -> {
            int min = s.getAsInt("min", 0);
            int max = s.getAsInt("max", Integer.MAX_VALUE);
            return plain(name, s, ts -> new LengthFilter(ts, min, max));
        });
        m.put("unique", (is, env, name, s) -> plain(name, s, RemoveDuplicatesTokenFilter::new));
        m.put("cjk_bigram", (is, env, name, s) -> {
            boolean unigrams = s.getAsBoolean("output_unigrams", false);
            List<String> ignored = s.getAsList("ignored_scripts");
            int flags = CJKBigramFilter.HAN | CJKBigramFilter.HIRAGANA | CJKBigramFilter.KATAKANA | CJKBigramFilter.HANGUL;
            for (String script : ignored) {
                switch (script) {
                    case "han" -> flags &= ~CJKBigramFilter.HAN;
                    case "hiragana" -> flags &= ~CJKBigramFilter.HIRAGANA;
                    case "katakana" -> flags &= ~CJKBigramFilter.KATAKANA;
                    case "hangul" -> flags &= ~CJKBigramFilter.HANGUL;
                    default -> throw new IllegalArgumentException("unknown script [" + script + "] in cjk_bigram [" + name + "]");
                }
            }
            int f = flags;
            return plain(name, s, ts -> new CJKBigramFilter(ts, f, unigrams));
        });
        m.put("edge_ngram", (is, env, name, s) -> {
            int min = s.getAsInt("min_gram", 1);
            int max = s.getAsInt("max_gram", 2);
            boolean keep = s.getAsBoolean("preserve_original", false);
            return plain(name, s, ts -> new EdgeNGramTokenFilter(ts, min, max, keep));
        });
        return m;
    }

    private static String stemmerLanguage(Settings s) {
        // like Elasticsearch: no language means the Porter (english) stemmer
        return s.get("language", s.get("name", "english"));
    }

    private static UnaryOperator<TokenStream> lowercase(String language) {
        if (language == null) {
            return LowerCaseFilter::new;
        }
        return switch (language.toLowerCase(Locale.ROOT)) {
            case "greek" -> GreekLowerCaseFilter::new;
            case "irish" -> IrishLowerCaseFilter::new;
            case "turkish" -> TurkishLowerCaseFilter::new;
            default -> throw new IllegalArgumentException("unknown lowercase language [" + language + "]");
        };
    }

    private static TokenFilterFactory elision(Environment env, String name, Settings s) {
        CharArraySet articles = Analysis.parseArticles(env, s);
        CharArraySet set = articles == null ? FrenchAnalyzer.DEFAULT_ARTICLES : articles;
        return normalizing(name, s, ts -> new ElisionFilter(ts, set));
    }

    /** A filter that must not be used in normalizers (it changes term count or stems). */
    static TokenFilterFactory plain(String name, Settings settings, UnaryOperator<TokenStream> f) {
        return new AbstractTokenFilterFactory(name, settings) {
            @Override
            public TokenStream create(TokenStream tokenStream) {
                return f.apply(tokenStream);
            }
        };
    }

    /** A one-term-in, one-term-out filter: usable in normalizers and for multi-term queries. */
    static TokenFilterFactory normalizing(String name, Settings settings, UnaryOperator<TokenStream> f) {
        return new Normalizing(name, settings, f);
    }

    private static final class Normalizing extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        private final UnaryOperator<TokenStream> f;

        Normalizing(String name, Settings settings, UnaryOperator<TokenStream> f) {
            super(name, settings);
            this.f = f;
        }

        @Override
        public TokenStream create(TokenStream tokenStream) {
            return f.apply(tokenStream);
        }
    }
}
