package lavalinksim

import "fmt"

// Filters is the Lavalink v4 filters object. Absent filters are nil.
type Filters struct {
	Volume        *float64        `json:"volume,omitempty"`
	Equalizer     []EqualizerBand `json:"equalizer,omitempty"`
	Karaoke       *Karaoke        `json:"karaoke,omitempty"`
	Timescale     *Timescale      `json:"timescale,omitempty"`
	Tremolo       *Oscillator     `json:"tremolo,omitempty"`
	Vibrato       *Oscillator     `json:"vibrato,omitempty"`
	Rotation      *Rotation       `json:"rotation,omitempty"`
	Distortion    *Distortion     `json:"distortion,omitempty"`
	ChannelMix    *ChannelMix     `json:"channelMix,omitempty"`
	LowPass       *LowPass        `json:"lowPass,omitempty"`
	PluginFilters map[string]any  `json:"pluginFilters,omitempty"`
}

// EqualizerBand sets the gain of one of the 15 bands.
type EqualizerBand struct {
	Band int     `json:"band"`
	Gain float64 `json:"gain"`
}

// Karaoke eliminates part of a band.
type Karaoke struct {
	Level       *float64 `json:"level,omitempty"`
	MonoLevel   *float64 `json:"monoLevel,omitempty"`
	FilterBand  *float64 `json:"filterBand,omitempty"`
	FilterWidth *float64 `json:"filterWidth,omitempty"`
}

// Timescale changes speed, pitch and rate (each 1.0 by default).
type Timescale struct {
	Speed *float64 `json:"speed,omitempty"`
	Pitch *float64 `json:"pitch,omitempty"`
	Rate  *float64 `json:"rate,omitempty"`
}

// Oscillator is the tremolo and vibrato object.
type Oscillator struct {
	Frequency *float64 `json:"frequency,omitempty"`
	Depth     *float64 `json:"depth,omitempty"`
}

// Rotation pans the audio around the listener; RotationHz is a float.
type Rotation struct {
	RotationHz *float64 `json:"rotationHz,omitempty"`
}

// Distortion is the distortion filter.
type Distortion struct {
	SinOffset *float64 `json:"sinOffset,omitempty"`
	SinScale  *float64 `json:"sinScale,omitempty"`
	CosOffset *float64 `json:"cosOffset,omitempty"`
	CosScale  *float64 `json:"cosScale,omitempty"`
	TanOffset *float64 `json:"tanOffset,omitempty"`
	TanScale  *float64 `json:"tanScale,omitempty"`
	Offset    *float64 `json:"offset,omitempty"`
	Scale     *float64 `json:"scale,omitempty"`
}

// ChannelMix mixes the left and right channels.
type ChannelMix struct {
	LeftToLeft   *float64 `json:"leftToLeft,omitempty"`
	LeftToRight  *float64 `json:"leftToRight,omitempty"`
	RightToLeft  *float64 `json:"rightToLeft,omitempty"`
	RightToRight *float64 `json:"rightToRight,omitempty"`
}

// LowPass suppresses higher frequencies.
type LowPass struct {
	Smoothing *float64 `json:"smoothing,omitempty"`
}

// validate checks the documented ranges.
func (f *Filters) validate() error {
	if f.Volume != nil && (*f.Volume < 0 || *f.Volume > 5) {
		return fmt.Errorf("filters.volume must be between 0.0 and 5.0, got %v", *f.Volume)
	}
	seen := map[int]bool{}
	for _, b := range f.Equalizer {
		if b.Band < 0 || b.Band > 14 {
			return fmt.Errorf("equalizer band must be between 0 and 14, got %d", b.Band)
		}
		if b.Gain < -0.25 || b.Gain > 1 {
			return fmt.Errorf("equalizer gain must be between -0.25 and 1.0, got %v", b.Gain)
		}
		if seen[b.Band] {
			return fmt.Errorf("equalizer band %d given twice", b.Band)
		}
		seen[b.Band] = true
	}
	if t := f.Timescale; t != nil {
		for name, v := range map[string]*float64{"speed": t.Speed, "pitch": t.Pitch, "rate": t.Rate} {
			if v != nil && *v < 0 {
				return fmt.Errorf("timescale.%s must be >= 0.0, got %v", name, *v)
			}
		}
	}
	if o := f.Tremolo; o != nil {
		if o.Frequency != nil && *o.Frequency <= 0 {
			return fmt.Errorf("tremolo.frequency must be > 0.0")
		}
		if o.Depth != nil && (*o.Depth <= 0 || *o.Depth > 1) {
			return fmt.Errorf("tremolo.depth must be in (0.0, 1.0]")
		}
	}
	if o := f.Vibrato; o != nil {
		if o.Frequency != nil && (*o.Frequency <= 0 || *o.Frequency > 14) {
			return fmt.Errorf("vibrato.frequency must be in (0.0, 14.0]")
		}
		if o.Depth != nil && (*o.Depth <= 0 || *o.Depth > 1) {
			return fmt.Errorf("vibrato.depth must be in (0.0, 1.0]")
		}
	}
	if c := f.ChannelMix; c != nil {
		for name, v := range map[string]*float64{"leftToLeft": c.LeftToLeft, "leftToRight": c.LeftToRight, "rightToLeft": c.RightToLeft, "rightToRight": c.RightToRight} {
			if v != nil && (*v < 0 || *v > 1) {
				return fmt.Errorf("channelMix.%s must be between 0.0 and 1.0", name)
			}
		}
	}
	return nil
}

// rate is how fast track time passes relative to real time under the
// timescale filter (speed × rate).
func (f *Filters) rate() float64 {
	r := 1.0
	if t := f.Timescale; t != nil {
		if t.Speed != nil {
			r *= *t.Speed
		}
		if t.Rate != nil {
			r *= *t.Rate
		}
	}
	return r
}
