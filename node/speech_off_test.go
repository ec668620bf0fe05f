package node

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestSpeechOffIsSaidAtWarnLevel: a node whose espeak-ng is missing starts
// without /say's speaker and says so in a warn line naming the way to turn
// speech on, as docs/operations.md (TTS_PROVIDER) promises; TTS_PROVIDER=off
// turns it off without a word.
func TestSpeechOffIsSaidAtWarnLevel(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no espeak-ng on it
	for _, tt := range []struct {
		provider string
		want     string // "" for no log line
	}{
		{ttsEspeak, `level=WARN msg="speech off: espeak-ng is not installed`},
		{ttsOff, ""},
	} {
		t.Run(tt.provider, func(t *testing.T) {
			var logs bytes.Buffer
			n := &Node{cfg: Config{TTS: TTSConfig{Provider: tt.provider}}, log: slog.New(slog.NewTextHandler(&logs, nil))}
			if err := n.startSpeech(); err != nil {
				t.Fatalf("startSpeech: %v", err)
			}
			if n.voice.speech.speaker != nil {
				t.Error("a speaker without espeak-ng")
			}
			got := logs.String()
			switch {
			case tt.want == "" && got != "":
				t.Errorf("logged %q, want nothing", got)
			case tt.want != "" && (!strings.Contains(got, tt.want) || !strings.Contains(got, "TTS_PROVIDER=elevenlabs")):
				t.Errorf("logged %q, want %q naming TTS_PROVIDER=elevenlabs", got, tt.want)
			}
		})
	}
}
