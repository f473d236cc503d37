package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/plugin"
	wazeroplugin "github.com/parcours-sante/parcours/host/plugin/wazero"
)

// pluginOptions are the plugin settings of serve and demo.
type pluginOptions struct {
	paths    string // comma-separated .wasm files
	grants   string // name=cap cap;name=cap
	settings string // JSON file of per-plugin settings
	cache    string // compilation cache directory
}

func (o *pluginOptions) register(fset *flag.FlagSet) {
	fset.StringVar(&o.paths, "plugins", env("PARCOURS_PLUGINS", ""), "comma-separated plugin .wasm files, run in this order (env PARCOURS_PLUGINS; demo default: build/plugins/*.wasm)")
	fset.StringVar(&o.grants, "plugin-grants", env("PARCOURS_PLUGIN_GRANTS", ""), "capabilities of plugins, `name=cap cap;name=cap`, e.g. sms-notify=http:http://127.0.0.1:9099 (env PARCOURS_PLUGIN_GRANTS)")
	fset.StringVar(&o.settings, "plugin-settings", env("PARCOURS_PLUGIN_SETTINGS", ""), "JSON file of per-plugin settings: {\"name\": {\"config\": …, \"grants\": […], \"on_error\": \"refuse|allow\", \"timeout\": \"100ms\", \"memory_pages\": 256, \"pool_size\": 4}} (env PARCOURS_PLUGIN_SETTINGS)")
	fset.StringVar(&o.cache, "plugin-cache", env("PARCOURS_PLUGIN_CACHE", ""), "plugin compilation cache directory; default under the user cache directory, \"off\" disables it (env PARCOURS_PLUGIN_CACHE)")
}

// pluginSettings is one plugin's entry in the -plugin-settings file.
type pluginSettings struct {
	Config      json.RawMessage `json:"config,omitempty"`
	Grants      []string        `json:"grants,omitempty"`
	OnError     plugin.OnError  `json:"on_error,omitempty"`
	Timeout     string          `json:"timeout,omitempty"`
	MemoryPages uint32          `json:"memory_pages,omitempty"`
	PoolSize    int             `json:"pool_size,omitempty"`
}

// pluginConfigs turns the options into the runtime's configuration. In the
// demo, without -plugins, it loads build/plugins/*.wasm when they exist.
func (o pluginOptions) pluginConfigs(demo bool) ([]wazeroplugin.PluginConfig, error) {
	paths := splitList(o.paths)
	if len(paths) == 0 && demo {
		found, _ := filepath.Glob(filepath.Join("build", "plugins", "*.wasm"))
		sort.Strings(found)
		paths = found
	}
	settings := map[string]pluginSettings{}
	if o.settings != "" {
		b, err := os.ReadFile(o.settings)
		if err != nil {
			return nil, fmt.Errorf("plugin settings: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&settings); err != nil {
			return nil, fmt.Errorf("plugin settings %s: %w", o.settings, err)
		}
	}
	for _, entry := range strings.Split(o.grants, ";") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		name, caps, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, fmt.Errorf("plugin grants %q: want name=capability", entry)
		}
		s := settings[strings.TrimSpace(name)]
		s.Grants = append(s.Grants, strings.Fields(caps)...)
		settings[strings.TrimSpace(name)] = s
	}
	var out []wazeroplugin.PluginConfig
	known := map[string]bool{}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".wasm")
		known[name] = true
		s := settings[name]
		pc := wazeroplugin.PluginConfig{
			Name: name, Path: path, Config: s.Config, Grants: s.Grants, OnError: s.OnError,
			MemoryPages: s.MemoryPages, PoolSize: s.PoolSize,
		}
		if s.Timeout != "" {
			d, err := time.ParseDuration(s.Timeout)
			if err != nil {
				return nil, fmt.Errorf("plugin %s: timeout: %w", name, err)
			}
			pc.Timeout = d
		}
		out = append(out, pc)
	}
	for name := range settings {
		if !known[name] {
			return nil, fmt.Errorf("plugin settings or grants name %q, which is not loaded", name)
		}
	}
	return out, nil
}

// loadPlugins loads the configured plugins, or returns nil when there are
// none. In the demo, a sms-notify plugin without settings is wired to a
// loopback SMS gateway that logs what it receives (no message leaves the
// machine).
func loadPlugins(ctx context.Context, o pluginOptions, demo bool, log *slog.Logger, out io.Writer) (*wazeroplugin.Set, func(), error) {
	pcs, err := o.pluginConfigs(demo)
	if err != nil || len(pcs) == 0 {
		return nil, func() {}, err
	}
	stop := func() {}
	for i := range pcs {
		if demo && pcs[i].Name == "sms-notify" && pcs[i].Config == nil && len(pcs[i].Grants) == 0 {
			url, closeGW, err := demoSMSGateway(log)
			if err != nil {
				return nil, stop, err
			}
			stop = closeGW
			pcs[i].Config = json.RawMessage(fmt.Sprintf(`{"url":%q,"signature":"CHU Exemple"}`, url+"/sms"))
			pcs[i].Grants = []string{"http:" + url}
			fmt.Fprintf(out, "  demo SMS gateway: %s/sms (messages are logged)\n", url)
		}
	}
	set, err := wazeroplugin.Load(ctx, wazeroplugin.Config{Plugins: pcs, CacheDir: o.cache, Logger: log})
	if err != nil {
		stop()
		return nil, func() {}, err
	}
	for _, p := range set.Plugins() {
		fmt.Fprintf(out, "  plugin %s: %v\n", p.Name(), p.Hooks())
	}
	return set, stop, nil
}

// demoSMSGateway is a loopback HTTP endpoint standing for a hospital's SMS
// gateway in the demo.
func demoSMSGateway(log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(io.LimitReader(r.Body, 16<<10))
			log.Info("demo SMS gateway received a message", "body", string(b))
			w.WriteHeader(http.StatusAccepted)
		}),
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
