package node

import (
	"errors"
	"flag"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/tts"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// The speech providers TTS_PROVIDER names.
const (
	ttsEspeak     = "espeak-ng"
	ttsElevenLabs = "elevenlabs"
	ttsOff        = "off"
)

// ttsFlags are /say's settings as text.
type ttsFlags struct {
	TTSProvider          string
	EspeakVoice          string
	ElevenLabsAPIKey     string
	ElevenLabsVoiceID    string
	ElevenLabsModelID    string
	ElevenLabsAPIURL     string
	TTSMaxChars          int
	TTSDailyChars        int
	TTSPremiumDailyChars int
	TTSURLTTL            time.Duration
	TTSPublicURL         string
}

func (c *ttsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.TTSProvider, "tts-provider", ttsEspeak, "speech provider of /say: espeak-ng, elevenlabs or off (TTS_PROVIDER)")
	fs.StringVar(&c.EspeakVoice, "espeak-voice", tts.DefaultEspeakVoice, "espeak-ng voice of /say, such as en or en-us (ESPEAK_VOICE)")
	fs.StringVar(&c.ElevenLabsAPIKey, "elevenlabs-api-key", "", "ElevenLabs API key; a secret, never logged (ELEVENLABS_API_KEY)")
	fs.StringVar(&c.ElevenLabsVoiceID, "elevenlabs-voice-id", tts.DefaultElevenLabsVoice, "ElevenLabs voice ID of /say (ELEVENLABS_VOICE_ID)")
	fs.StringVar(&c.ElevenLabsModelID, "elevenlabs-model-id", tts.DefaultElevenLabsModel, "ElevenLabs model ID of /say (ELEVENLABS_MODEL_ID)")
	fs.StringVar(&c.ElevenLabsAPIURL, "elevenlabs-api-url", tts.DefaultElevenLabsURL, "ElevenLabs API base URL (ELEVENLABS_API_URL)")
	fs.IntVar(&c.TTSMaxChars, "tts-max-chars", tts.DefaultMaxChars, "most characters one /say may speak (TTS_MAX_CHARS)")
	fs.IntVar(&c.TTSDailyChars, "tts-daily-chars", tts.DefaultDailyChars, "characters of /say a user may speak per UTC day (TTS_DAILY_CHARS)")
	fs.IntVar(&c.TTSPremiumDailyChars, "tts-premium-daily-chars", tts.DefaultPremiumDailyChars, "characters of /say a premium user may speak per UTC day (TTS_PREMIUM_DAILY_CHARS)")
	fs.DurationVar(&c.TTSURLTTL, "tts-url-ttl", tts.DefaultURLTTL, "life of the signed URLs through which Lavalink fetches /say's audio (TTS_URL_TTL)")
	fs.StringVar(&c.TTSPublicURL, "tts-public-url", "", "this node's HTTP server as Lavalink reaches it, for /say's audio URLs; empty: http://127.0.0.1:<HTTP_ADDR's port> (TTS_PUBLIC_URL)")
}

// TTSConfig is /say's configuration (the TTS_* settings, ESPEAK_VOICE and
// the ELEVENLABS_* settings).
type TTSConfig struct {
	// Provider is espeak-ng (the default, no account needed), elevenlabs or
	// off (TTS_PROVIDER).
	Provider string
	// EspeakVoice is espeak-ng's voice (ESPEAK_VOICE); default "en".
	EspeakVoice string
	// ElevenLabs is the ElevenLabs provider's settings (ELEVENLABS_API_KEY,
	// required with TTS_PROVIDER=elevenlabs and never logged;
	// ELEVENLABS_VOICE_ID, ELEVENLABS_MODEL_ID, ELEVENLABS_API_URL).
	ElevenLabs tts.ElevenLabsConfig
	// MaxChars limits one /say (TTS_MAX_CHARS, 1-1000); default 200.
	MaxChars int
	// DailyChars and PremiumDailyChars are a user's characters per UTC day
	// (TTS_DAILY_CHARS, TTS_PREMIUM_DAILY_CHARS); defaults 2000 and 10000.
	DailyChars, PremiumDailyChars int
	// URLTTL is the life of a clip URL (TTS_URL_TTL, 5s-10m); default 30s.
	URLTTL time.Duration
	// PublicURL is this node's HTTP server as Lavalink reaches it
	// (TTS_PUBLIC_URL); empty: http://127.0.0.1 and HTTP_ADDR's port.
	PublicURL string
}

func (c ttsFlags) parse() TTSConfig {
	return TTSConfig{Provider: strings.ToLower(strings.TrimSpace(c.TTSProvider)), EspeakVoice: c.EspeakVoice,
		ElevenLabs: tts.ElevenLabsConfig{APIKey: c.ElevenLabsAPIKey, VoiceID: c.ElevenLabsVoiceID, Model: c.ElevenLabsModelID, BaseURL: c.ElevenLabsAPIURL},
		MaxChars:   c.TTSMaxChars, DailyChars: c.TTSDailyChars, PremiumDailyChars: c.TTSPremiumDailyChars,
		URLTTL: c.TTSURLTTL, PublicURL: strings.TrimRight(strings.TrimSpace(c.TTSPublicURL), "/")}
}

// check records what is wrong with the speech settings.
func (c *TTSConfig) check(p *problems) {
	switch c.Provider {
	case ttsEspeak, ttsOff:
	case ttsElevenLabs:
		if strings.TrimSpace(c.ElevenLabs.APIKey) == "" {
			p.add("ELEVENLABS_API_KEY", "is required when TTS_PROVIDER is elevenlabs")
		}
		if _, err := tts.NewElevenLabs(tts.ElevenLabsConfig{APIKey: "x", BaseURL: c.ElevenLabs.BaseURL}); err != nil {
			p.add("ELEVENLABS_API_URL", "must be an http(s) URL")
		}
		if c.ElevenLabs.VoiceID == "" || strings.ContainsAny(c.ElevenLabs.VoiceID, "/?# ") {
			p.add("ELEVENLABS_VOICE_ID", "must be a voice ID such as %s", tts.DefaultElevenLabsVoice)
		}
	default:
		p.add("TTS_PROVIDER", "must be espeak-ng, elevenlabs or off, not %q", c.Provider)
	}
	if c.EspeakVoice == "" || strings.HasPrefix(c.EspeakVoice, "-") || strings.ContainsAny(c.EspeakVoice, " \t/") {
		p.add("ESPEAK_VOICE", "must be an espeak-ng voice name such as en or en-us")
	}
	if c.MaxChars < 1 || c.MaxChars > 1000 {
		p.add("TTS_MAX_CHARS", "must be between 1 and 1000")
	}
	if c.DailyChars < c.MaxChars {
		p.add("TTS_DAILY_CHARS", "must be at least TTS_MAX_CHARS (%d)", c.MaxChars)
	}
	if c.PremiumDailyChars < c.DailyChars {
		p.add("TTS_PREMIUM_DAILY_CHARS", "must be at least TTS_DAILY_CHARS (%d)", c.DailyChars)
	}
	if c.URLTTL < 5*time.Second || c.URLTTL > 10*time.Minute {
		p.add("TTS_URL_TTL", "must be a duration between 5s and 10m, such as 30s")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			p.add("TTS_PUBLIC_URL", "must be an http(s) URL such as http://10.0.0.5:8080")
		}
	}
}

// speechParts are /say's speaker and the base of its clip URLs.
type speechParts struct {
	speaker *tts.Speaker
	base    atomic.Pointer[string] // set when the HTTP server listens
}

// startSpeech builds the speaker of /say from the configuration; it stays
// nil (and /say answers that speech is off) when TTS_PROVIDER is off or
// espeak-ng is missing, which is said at warn level.
func (n *Node) startSpeech() error {
	c := n.cfg.TTS
	var prov tts.Provider
	var err error
	switch c.Provider {
	case ttsOff:
		return nil
	case ttsElevenLabs:
		prov, err = tts.NewElevenLabs(c.ElevenLabs)
	default:
		prov, err = tts.NewEspeak(c.EspeakVoice)
		if errors.Is(err, tts.ErrEspeakMissing) {
			n.log.Warn("speech off: "+err.Error()+", or set TTS_PROVIDER=elevenlabs", "feature", "speech")
			return nil
		}
	}
	if err != nil {
		return &ConfigError{Setting: "TTS_PROVIDER", Reason: err.Error()}
	}
	sp, err := tts.NewSpeaker(tts.SpeakerConfig{Provider: prov, Redis: n.rdb, MaxChars: c.MaxChars, DailyChars: c.DailyChars,
		PremiumDailyChars: c.PremiumDailyChars, URLTTL: c.URLTTL, BaseURL: n.speechBase, Registerer: n.reg, Logger: n.log})
	if err != nil {
		return err
	}
	n.voice.speech.speaker = sp
	return nil
}

// speechBase is the base of this node's clip URLs.
func (n *Node) speechBase() string {
	if n.cfg.TTS.PublicURL != "" {
		return n.cfg.TTS.PublicURL
	}
	if b := n.voice.speech.base.Load(); b != nil {
		return *b
	}
	return "http://127.0.0.1" // not serving yet: a URL nobody can fetch
}

// routeSpeech serves the clips to Lavalink beside the node's other
// endpoints, and fixes the URL base from the address the server listens on.
func (n *Node) routeSpeech() {
	if n.voice.speech.speaker == nil {
		return
	}
	n.http.Mux.Handle(tts.ClipPath, n.voice.speech.speaker.Handler())
	_, port, _ := net.SplitHostPort(n.http.Addr())
	base := "http://127.0.0.1:" + port
	n.voice.speech.base.Store(&base)
}

// speechURLs is what the music service mints clip URLs with; nil when
// speech is off.
func (n *Node) speechURLs() voice.SpeechURLs {
	if n.voice.speech.speaker == nil {
		return nil
	}
	return n.voice.speech.speaker
}

// sayCommands is /say; it answers that speech or music is off when it is.
func (n *Node) sayCommands() []*commands.Command {
	var svc commands.MusicService
	if n.voice.router != nil {
		svc = n.voice.router
	}
	var sp commands.Speaker
	if n.voice.speech.speaker != nil {
		sp = n.voice.speech.speaker
	}
	return commands.Say(svc, sp, n.cfg.TTS.MaxChars)
}
