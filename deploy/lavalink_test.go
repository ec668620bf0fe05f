package deploy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/voice"
)

// TestLavalinkSources: the shipped Lavalink configuration serves what the
// bot asks of it: YouTube through the youtube-source plugin (the built-in
// source stays off), Spotify, Apple Music and Deezer through LavaSrc, and
// every prefix of the default MUSIC_SEARCH.
func TestLavalinkSources(t *testing.T) {
	var cfg struct {
		Lavalink struct {
			Plugins []struct {
				Dependency string `yaml:"dependency"`
				Repository string `yaml:"repository"`
			} `yaml:"plugins"`
			Server struct {
				Sources                 map[string]bool `yaml:"sources"`
				SoundcloudSearchEnabled bool            `yaml:"soundcloudSearchEnabled"`
			} `yaml:"server"`
		} `yaml:"lavalink"`
		Plugins struct {
			YouTube struct {
				Enabled     bool     `yaml:"enabled"`
				AllowSearch bool     `yaml:"allowSearch"`
				Clients     []string `yaml:"clients"`
			} `yaml:"youtube"`
			LavaSrc struct {
				Providers []string          `yaml:"providers"`
				Sources   map[string]string `yaml:"sources"`
			} `yaml:"lavasrc"`
		} `yaml:"plugins"`
	}
	decodeYAML(t, repoFile(t, "deploy/compose/lavalink/application.yml"), &cfg)
	deps := map[string]string{}
	for _, p := range cfg.Lavalink.Plugins {
		parts := strings.Split(p.Dependency, ":")
		if len(parts) != 3 || parts[2] == "" || strings.ContainsAny(parts[2], "<>xX") {
			t.Errorf("plugin %q is not group:artifact:version with a pinned version", p.Dependency)
			continue
		}
		deps[parts[0]+":"+parts[1]] = parts[2]
	}
	for _, want := range []string{"dev.lavalink.youtube:youtube-plugin", "com.github.topi314.lavasrc:lavasrc-plugin"} {
		if deps[want] == "" {
			t.Errorf("plugin %s missing", want)
		}
	}
	if cfg.Lavalink.Server.Sources["youtube"] {
		t.Error("the deprecated built-in YouTube source is on; the plugin serves YouTube")
	}
	yt := cfg.Plugins.YouTube
	if !yt.Enabled || !yt.AllowSearch || len(yt.Clients) == 0 {
		t.Errorf("youtube plugin: %+v", yt)
	}
	for _, src := range []string{"spotify", "applemusic", "deezer"} {
		if _, ok := cfg.Plugins.LavaSrc.Sources[src]; !ok {
			t.Errorf("LavaSrc source %s not configured", src)
		}
	}
	if cfg.Plugins.LavaSrc.Sources["applemusic"] != "true" {
		t.Error("Apple Music links need no credentials and must work as shipped")
	}
	if len(cfg.Plugins.LavaSrc.Providers) == 0 {
		t.Error("LavaSrc has no providers to play Spotify and Apple Music tracks from")
	}
	// Every default search prefix has a source.
	searchable := map[string]bool{
		"ytsearch":  yt.Enabled && yt.AllowSearch,
		"ytmsearch": yt.Enabled && yt.AllowSearch,
		"scsearch":  cfg.Lavalink.Server.Sources["soundcloud"] && cfg.Lavalink.Server.SoundcloudSearchEnabled,
	}
	prefixes, err := voice.ParseSearch(voice.DefaultSearch)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prefixes {
		if !searchable[p] {
			t.Errorf("MUSIC_SEARCH default %s has no source in application.yml", p)
		}
	}
}

// TestLavalinkConfigVariablesReachLavalink: every ${VAR} of the Lavalink
// configuration (Spring resolves them from the environment) is set in the
// Compose lavalink service, so that .env's SPOTIFY_*/DEEZER_* reach LavaSrc.
func TestLavalinkConfigVariablesReachLavalink(t *testing.T) {
	src := string(readFile(t, repoFile(t, "deploy/compose/lavalink/application.yml")))
	refs := regexp.MustCompile(`\$\{([A-Z0-9_]+)(:[^}]*)?\}`).FindAllStringSubmatch(src, -1)
	if len(refs) == 0 {
		t.Fatal("application.yml reads no variables; LavaSrc's credentials must come from the environment")
	}
	env := loadCompose(t).Services["lavalink"].Environment
	for _, m := range refs {
		if _, ok := env[m[1]]; !ok {
			t.Errorf("application.yml reads ${%s}, which the Compose lavalink service does not set", m[1])
		}
	}
}
