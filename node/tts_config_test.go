package node_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/node"
)

// TestTTSSettings: /say's settings are parsed into Config.TTS, and each bad
// one is refused naming it, without repeating the ElevenLabs key.
func TestTTSSettings(t *testing.T) {
	const key = "sk_live_supersecret_0123456789"
	tests := []struct {
		name   string
		values map[string]string
		want   string // the setting refused; "" for none
	}{
		{"defaults", nil, ""},
		{"elevenlabs", map[string]string{"tts-provider": "ElevenLabs", "elevenlabs-api-key": key}, ""},
		{"elevenlabs without a key", map[string]string{"tts-provider": "elevenlabs"}, "ELEVENLABS_API_KEY"},
		{"elevenlabs, bad URL", map[string]string{"tts-provider": "elevenlabs", "elevenlabs-api-key": key, "elevenlabs-api-url": "ftp://x"}, "ELEVENLABS_API_URL"},
		{"elevenlabs, bad voice", map[string]string{"tts-provider": "elevenlabs", "elevenlabs-api-key": key, "elevenlabs-voice-id": "a/b"}, "ELEVENLABS_VOICE_ID"},
		{"unknown provider", map[string]string{"tts-provider": "polly", "elevenlabs-api-key": key}, "TTS_PROVIDER"},
		{"off", map[string]string{"tts-provider": "off"}, ""},
		{"espeak voice option", map[string]string{"espeak-voice": "-w/tmp/x"}, "ESPEAK_VOICE"},
		{"max chars", map[string]string{"tts-max-chars": "0"}, "TTS_MAX_CHARS"},
		{"daily under max", map[string]string{"tts-max-chars": "300", "tts-daily-chars": "200"}, "TTS_DAILY_CHARS"},
		{"premium under daily", map[string]string{"tts-premium-daily-chars": "100"}, "TTS_PREMIUM_DAILY_CHARS"},
		{"URL TTL", map[string]string{"tts-url-ttl": "1h"}, "TTS_URL_TTL"},
		{"public URL", map[string]string{"tts-public-url": "10.0.0.5:8080"}, "TTS_PUBLIC_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := map[string]string{}
			for k, v := range minimal {
				values[k] = v
			}
			for k, v := range tt.values {
				values[k] = v
			}
			c, err := configWith(t, values).Load()
			var ce *node.ConfigError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (!errors.As(err, &ce) || ce.Setting != tt.want):
				t.Fatalf("err = %v, want one about %s", err, tt.want)
			case err != nil && strings.Contains(err.Error(), key):
				t.Fatalf("the error repeats the API key: %v", err)
			}
			if tt.name == "elevenlabs" && (c.TTS.Provider != "elevenlabs" || c.TTS.ElevenLabs.APIKey != key) {
				t.Fatalf("TTS provider %q, key set %v", c.TTS.Provider, c.TTS.ElevenLabs.APIKey == key)
			}
			for _, format := range []string{"%v", "%+v", "%#v"} {
				if s := fmt.Sprintf(format, c); strings.Contains(s, key) {
					t.Fatalf("the configuration printed with %s shows the API key", format)
				}
			}
		})
	}
	d := node.DefaultConfig().TTS
	if d.Provider != "espeak-ng" || d.MaxChars != 200 || d.DailyChars != 2000 || d.PremiumDailyChars != 10000 || d.URLTTL != 30*time.Second {
		t.Fatalf("defaults %+v", d)
	}
}
