package tts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// InstallEspeak is how to install espeak-ng on Debian; scripts/deps.sh runs it.
const InstallEspeak = "apt-get install -y espeak-ng"

// ErrEspeakMissing means espeak-ng is not installed.
var ErrEspeakMissing = errors.New("espeak-ng is not installed; install it with: " + InstallEspeak)

// Espeak speaks with espeak-ng, the local default that needs no account.
type Espeak struct {
	bin   string
	voice string
}

// DefaultEspeakVoice is espeak-ng's English voice.
const DefaultEspeakVoice = "en"

// NewEspeak returns the espeak-ng provider speaking with voice (an espeak-ng
// voice name such as "en" or "en-us"; "" for DefaultEspeakVoice). It fails
// with ErrEspeakMissing when espeak-ng is not on PATH.
func NewEspeak(voice string) (*Espeak, error) {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, ErrEspeakMissing
	}
	if voice == "" {
		voice = DefaultEspeakVoice
	}
	if strings.HasPrefix(voice, "-") || strings.ContainsAny(voice, " \t\n/") {
		return nil, fmt.Errorf("tts: %q is not an espeak-ng voice name", voice)
	}
	return &Espeak{bin: bin, voice: voice}, nil
}

// Name is "espeak-ng".
func (e *Espeak) Name() string { return "espeak-ng" }

// Voice is the espeak-ng voice name.
func (e *Espeak) Voice() string { return e.voice }

// Synthesize runs espeak-ng with the text on standard input (never as an
// argument, so no text is read as an option) and returns its WAV output.
func (e *Espeak) Synthesize(ctx context.Context, text string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, e.bin, "--stdout", "-v", e.voice)
	cmd.Stdin = strings.NewReader(text)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: espeak-ng: %w (%s)", errProvider, err, strings.TrimSpace(stderr.String()))
	}
	wav, err := fixWAV(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: espeak-ng output: %w", errProvider, err)
	}
	return wav, nil
}
