package io.newsstream.es.analysis;

import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.classic.ClassicTokenizer;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.apache.lucene.analysis.core.LetterTokenizer;
import org.apache.lucene.analysis.core.WhitespaceTokenizer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.th.ThaiTokenizer;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/** Tokenizers of Elasticsearch's analysis-common module (the server itself only has {@code standard}). */
final class Tokenizers {

    private Tokenizers() {}

    static Map<String, AnalysisProvider<TokenizerFactory>> all() {
        Map<String, AnalysisProvider<TokenizerFactory>> m = new TreeMap<>();
        m.put("keyword", (is, env, name, s) -> {
            int buffer = s.getAsInt("buffer_size", KeywordTokenizer.DEFAULT_BUFFER_SIZE);
            return TokenizerFactory.newFactory(name, () -> new KeywordTokenizer(buffer));
        });
        m.put("whitespace", (is, env, name, s) -> {
            int max = s.getAsInt("max_token_length", 255);
            return TokenizerFactory.newFactory(name, () -> new WhitespaceTokenizer(WhitespaceTokenizer.DEFAULT_TOKEN_ATTRIBUTE_FACTORY, max));
        });
        m.put("letter", (is, env, name, s) -> TokenizerFactory.newFactory(name, LetterTokenizer::new));
        m.put("classic", (is, env, name, s) -> {
            int max = s.getAsInt("max_token_length", 255);
            return TokenizerFactory.newFactory(name, withMax(ClassicTokenizer::new, t -> t.setMaxTokenLength(max)));
        });
        m.put("uax_url_email", (is, env, name, s) -> {
            int max = s.getAsInt("max_token_length", 255);
            return TokenizerFactory.newFactory(name, withMax(UAX29URLEmailTokenizer::new, t -> t.setMaxTokenLength(max)));
        });
        m.put("thai", (is, env, name, s) -> TokenizerFactory.newFactory(name, ThaiTokenizer::new));
        return m;
    }

    private static <T extends Tokenizer> Supplier<Tokenizer> withMax(Supplier<T> make, java.util.function.Consumer<T> configure) {
        return () -> {
            T t = make.get();
            configure.accept(t);
            return t;
        };
    }
}
