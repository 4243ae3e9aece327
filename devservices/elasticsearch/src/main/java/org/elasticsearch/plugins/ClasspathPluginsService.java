package org.elasticsearch.plugins;

import org.elasticsearch.Version;
import org.elasticsearch.common.settings.Settings;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A PluginsService whose plugins are classes already on the JVM classpath.
 *
 * <p>Why it lives in this package: the distribution's plugin loader wants plugin directories with
 * descriptors; our node is started from plain Maven jars, so we hand the plugin instances over
 * directly, the way the server's own test framework does, through the package-private
 * {@code LoadedPlugin} record and {@code loadPlugin} helper.
 */
public class ClasspathPluginsService extends PluginsService {

    private final List<LoadedPlugin> classpathPlugins;

    public ClasspathPluginsService(Settings settings, Path configPath, List<Class<? extends Plugin>> pluginClasses) {
        super(settings, configPath, PluginsLoader.createPluginsLoader(java.util.Set.of(), java.util.Set.of(), Map.of(), false));
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Class<? extends Plugin> pluginClass : pluginClasses) {
            PluginDescriptor descriptor = new PluginDescriptor(
                pluginClass.getSimpleName(),
                "classpath plugin " + pluginClass.getName(),
                "NA",
                Version.CURRENT.toString(),
                "17",
                pluginClass.getName(),
                null,
                List.of(),
                false,
                false,
                false,
                false
            );
            Plugin instance = loadPlugin(pluginClass, settings, configPath);
            loaded.add(new LoadedPlugin(descriptor, instance, pluginClass.getClassLoader()));
        }
        this.classpathPlugins = List.copyOf(loaded);
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }
}
