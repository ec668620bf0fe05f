package tts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// WAVFormat is the format of a WAV file's PCM samples.
type WAVFormat struct {
	Channels   int
	SampleRate int
	Bits       int
}

// pcmWAV wraps raw little-endian PCM samples in a WAV header.
func pcmWAV(pcm []byte, f WAVFormat) []byte {
	var b bytes.Buffer
	blockAlign := f.Channels * f.Bits / 8
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+len(pcm)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1)) // PCM
	binary.Write(&b, binary.LittleEndian, uint16(f.Channels))
	binary.Write(&b, binary.LittleEndian, uint32(f.SampleRate))
	binary.Write(&b, binary.LittleEndian, uint32(f.SampleRate*blockAlign))
	binary.Write(&b, binary.LittleEndian, uint16(blockAlign))
	binary.Write(&b, binary.LittleEndian, uint16(f.Bits))
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(pcm)))
	b.Write(pcm)
	return b.Bytes()
}

var errNotWAV = errors.New("not a PCM WAV file")

// ParseWAV reads a WAV file's format and the length of its samples. It
// accepts the placeholder sizes a streaming writer leaves in the header
// (espeak-ng --stdout writes 0x7fffffff-ish sizes), reading the data
// chunk to the end of the file.
func ParseWAV(b []byte) (WAVFormat, time.Duration, error) {
	f, data, err := wavChunks(b)
	if err != nil {
		return WAVFormat{}, 0, err
	}
	bytesPerSec := f.SampleRate * f.Channels * f.Bits / 8
	return f, time.Duration(int64(data) * int64(time.Second) / int64(bytesPerSec)), nil
}

// wavChunks returns b's format and the size of its data chunk, clamped to
// the bytes present.
func wavChunks(b []byte) (WAVFormat, int, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return WAVFormat{}, 0, fmt.Errorf("%w: no RIFF/WAVE header", errNotWAV)
	}
	var f WAVFormat
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > len(b) {
				return WAVFormat{}, 0, fmt.Errorf("%w: short fmt chunk", errNotWAV)
			}
			if tag := binary.LittleEndian.Uint16(b[body:]); tag != 1 {
				return WAVFormat{}, 0, fmt.Errorf("%w: format tag %d", errNotWAV, tag)
			}
			f = WAVFormat{Channels: int(binary.LittleEndian.Uint16(b[body+2:])),
				SampleRate: int(binary.LittleEndian.Uint32(b[body+4:])), Bits: int(binary.LittleEndian.Uint16(b[body+14:]))}
			if f.Channels < 1 || f.SampleRate < 1 || (f.Bits != 8 && f.Bits != 16 && f.Bits != 24 && f.Bits != 32) {
				return WAVFormat{}, 0, fmt.Errorf("%w: format %+v", errNotWAV, f)
			}
		case "data":
			if f.SampleRate == 0 {
				return WAVFormat{}, 0, fmt.Errorf("%w: data before fmt", errNotWAV)
			}
			return f, min(size, len(b)-body), nil
		}
		off = body + size + size%2
	}
	return WAVFormat{}, 0, fmt.Errorf("%w: no data chunk", errNotWAV)
}

// fixWAV returns b as a WAV file whose header sizes are those of its
// samples, as HTTP clients that trust Content-Length and RIFF sizes need.
func fixWAV(b []byte) ([]byte, error) {
	f, data, err := wavChunks(b)
	if err != nil {
		return nil, err
	}
	pcm := b[indexData(b):][:data]
	return pcmWAV(pcm, f), nil
}

// indexData returns the offset of the data chunk's samples; b passed
// wavChunks.
func indexData(b []byte) int {
	for off := 12; off+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		if string(b[off:off+4]) == "data" {
			return off + 8
		}
		off += 8 + size + size%2
	}
	return len(b)
}
