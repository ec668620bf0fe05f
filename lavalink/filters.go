package lavalink

import (
	"encoding/json"
	"fmt"
)

// Filters is the Lavalink v4 filters object. Fields left nil are not sent,
// so an empty Filters clears every filter. Rotation takes a float, unlike
// disgolink's, so that 8D can use 0.2 Hz.
type Filters struct {
	Volume     *float64        `json:"volume,omitempty"`
	Equalizer  []EqualizerBand `json:"equalizer,omitempty"`
	Timescale  *Timescale      `json:"timescale,omitempty"`
	Rotation   *Rotation       `json:"rotation,omitempty"`
	Tremolo    *Oscillator     `json:"tremolo,omitempty"`
	Vibrato    *Oscillator     `json:"vibrato,omitempty"`
	LowPass    *LowPass        `json:"lowPass,omitempty"`
	ChannelMix *ChannelMix     `json:"channelMix,omitempty"`
}

// UnmarshalJSON decodes a filters object, accepting the equalizer both as
// Lavalink's bands ({"band","gain"} objects) and as NodeLink's 15 plain
// gains (band i at index i; zero gains are left out).
func (f *Filters) UnmarshalJSON(b []byte) error {
	type plain Filters
	var aux struct {
		plain
		Equalizer json.RawMessage `json:"equalizer"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*f = Filters(aux.plain)
	f.Equalizer = nil
	if len(aux.Equalizer) == 0 || string(aux.Equalizer) == "null" {
		return nil
	}
	if err := json.Unmarshal(aux.Equalizer, &f.Equalizer); err == nil {
		return nil
	}
	var gains []float64
	if err := json.Unmarshal(aux.Equalizer, &gains); err != nil {
		return fmt.Errorf("filters.equalizer is neither bands nor gains: %w", err)
	}
	f.Equalizer = nil
	for band, gain := range gains {
		if gain != 0 {
			f.Equalizer = append(f.Equalizer, EqualizerBand{Band: band, Gain: gain})
		}
	}
	return nil
}

// EqualizerBand sets one of the 15 bands (0-14) to a gain in [-0.25, 1.0].
type EqualizerBand struct {
	Band int     `json:"band"`
	Gain float64 `json:"gain"`
}

// Timescale changes speed, pitch and rate (1.0 each is unchanged).
type Timescale struct {
	Speed float64 `json:"speed"`
	Pitch float64 `json:"pitch"`
	Rate  float64 `json:"rate"`
}

// Rotation pans the audio around the listener at RotationHz.
type Rotation struct {
	RotationHz float64 `json:"rotationHz"`
}

// Oscillator is the tremolo and vibrato object.
type Oscillator struct {
	Frequency float64 `json:"frequency"`
	Depth     float64 `json:"depth"`
}

// LowPass suppresses frequencies above the smoothing factor.
type LowPass struct {
	Smoothing float64 `json:"smoothing"`
}

// ChannelMix mixes the left and right channels.
type ChannelMix struct {
	LeftToLeft   float64 `json:"leftToLeft"`
	LeftToRight  float64 `json:"leftToRight"`
	RightToLeft  float64 `json:"rightToLeft"`
	RightToRight float64 `json:"rightToRight"`
}

// Rate is how fast track time passes under the filters (1 is real time).
func (f Filters) Rate() float64 {
	if f.Timescale == nil {
		return 1
	}
	return f.Timescale.Speed * f.Timescale.Rate
}
