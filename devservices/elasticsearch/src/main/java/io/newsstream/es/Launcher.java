package io.newsstream.es;

import io.newsstream.es.analysis.LanguageAnalysisPlugin;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.ClasspathNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts one Elasticsearch node in this JVM, bound to loopback, for local development and tests.
 *
 * <p>Usage: {@code java -Xmx768m -cp 'lib/*' io.newsstream.es.Launcher --home DIR --http-port 9200
 * [--transport-port 9300] [--cluster-name NAME] [--node-name NAME]}. Runs until SIGTERM/SIGINT,
 * then closes the node cleanly so the data directory stays consistent.
 */
public final class Launcher {

    private Launcher() {}

    /** Plugins a distribution would load from modules/ and plugins/; here they are classpath classes. */
    static final List<Class<? extends Plugin>> PLUGINS = List.of(Netty4Plugin.class, LanguageAnalysisPlugin.class, RestRootPlugin.class);

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parseArgs(args);
        Path home = Path.of(required(opts, "home")).toAbsolutePath();
        int httpPort = Integer.parseInt(required(opts, "http-port"));
        int transportPort = Integer.parseInt(opts.getOrDefault("transport-port", Integer.toString(httpPort + 100)));
        String nodeName = opts.getOrDefault("node-name", "newsstream-local");

        Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));
        installLogConfig(config);

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", opts.getOrDefault("cluster-name", "newsstream-local"))
            .put("node.name", nodeName)
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            // a developer laptop or CI box is often >90% full; a dev node should not refuse to allocate shards for that
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", opts.getOrDefault("auto-create-index", "true"))
            .build();

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(nodeName);
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), config, () -> nodeName);
        LogConfigurator.configure(env, true);

        Node node = new ClasspathNode(env, PLUGINS);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "newsstream-es-shutdown"));
        node.start();
        System.out.println("newsstream-es: node started, http 127.0.0.1:" + httpPort + ", transport 127.0.0.1:" + transportPort);
        System.out.flush();
        stopped.await();
    }

    private static void installLogConfig(Path config) throws IOException {
        try (InputStream in = Launcher.class.getResourceAsStream("/newsstream-es-log4j2.properties")) {
            if (in == null) {
                throw new IllegalStateException("log4j2 config resource missing from the launcher jar");
            }
            Files.copy(in, config.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--") == false || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got: " + a);
            }
            out.put(a.substring(2), args[++i]);
        }
        return out;
    }

    private static String required(Map<String, String> opts, String name) {
        String v = opts.get(name);
        if (v == null) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return v;
    }
}
