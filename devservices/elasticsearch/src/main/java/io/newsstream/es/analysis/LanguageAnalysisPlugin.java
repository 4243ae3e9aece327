package io.newsstream.es.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.Map;
import java.util.TreeMap;

/**
 * Stands in for Elasticsearch's analysis-common module, which Elastic does not publish on Maven
 * Central: Lucene's language analyzers, stemmers and the common filters under Elasticsearch's names.
 * Names the server already registers (analyzers standard/simple/whitespace/stop/keyword, tokenizer
 * standard, filter stop/shingle, the pre-configured lowercase) are deliberately left out.
 */
public class LanguageAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> m = new TreeMap<>();
        LanguageAnalyzers.LANGUAGES.forEach(
            (lang, def) -> m.put(lang, (is, env, name, s) -> new LanguageAnalyzers.Provider(is, env, name, s, def))
        );
        return m;
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Filters.all();
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Tokenizers.all();
    }

    @Override
    public Map<String, AnalysisProvider<CharFilterFactory>> getCharFilters() {
        return CharFilters.all();
    }
}
