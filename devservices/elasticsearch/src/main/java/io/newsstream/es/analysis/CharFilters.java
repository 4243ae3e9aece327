package io.newsstream.es.analysis;

import org.apache.lucene.analysis.charfilter.HTMLStripCharFilter;
import org.apache.lucene.analysis.charfilter.MappingCharFilter;
import org.apache.lucene.analysis.charfilter.NormalizeCharMap;
import org.elasticsearch.index.analysis.AbstractCharFilterFactory;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.NormalizingCharFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;

import java.io.Reader;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Char filters of Elasticsearch's analysis-common module: {@code html_strip} and {@code mapping}. */
final class CharFilters {

    private CharFilters() {}

    static Map<String, AnalysisProvider<CharFilterFactory>> all() {
        Map<String, AnalysisProvider<CharFilterFactory>> m = new TreeMap<>();
        m.put("html_strip", (is, env, name, s) -> {
            Set<String> escaped = new HashSet<>(s.getAsList("escaped_tags"));
            return new AbstractCharFilterFactory(name) {
                @Override
                public Reader create(Reader reader) {
                    return escaped.isEmpty() ? new HTMLStripCharFilter(reader) : new HTMLStripCharFilter(reader, escaped);
                }
            };
        });
        m.put("mapping", AnalysisPlugin.requiresAnalysisSettings((is, env, name, s) -> {
            List<String> rules = s.getAsList("mappings");
            if (rules.isEmpty()) {
                throw new IllegalArgumentException("mapping char filter [" + name + "] requires [mappings]");
            }
            NormalizeCharMap.Builder b = new NormalizeCharMap.Builder();
            for (String rule : rules) {
                int arrow = rule.indexOf("=>");
                if (arrow < 0) {
                    throw new IllegalArgumentException("invalid mapping rule [" + rule + "]: expected 'from => to'");
                }
                String from = rule.substring(0, arrow).trim();
                String to = rule.substring(arrow + 2).trim();
                if (from.isEmpty()) {
                    throw new IllegalArgumentException("invalid mapping rule [" + rule + "]: empty left side");
                }
                b.add(from, to);
            }
            NormalizeCharMap map = b.build();
            return new MappingFactory(name, map);
        }));
        return m;
    }

    private static final class MappingFactory extends AbstractCharFilterFactory implements NormalizingCharFilterFactory {
        private final NormalizeCharMap map;

        MappingFactory(String name, NormalizeCharMap map) {
            super(name);
            this.map = map;
        }

        @Override
        public Reader create(Reader reader) {
            return new MappingCharFilter(map, reader);
        }
    }
}
