package lavalinksim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Lavalink's HTTP source loads a URL by fetching it and probing the
// container. The simulator does that for real for URLs on loopback hosts
// (127.0.0.0/8, ::1, localhost), where the node under test serves clips; it
// recognises WAV (RIFF/WAVE with PCM samples). Other hosts keep their
// deterministic fake tracks (see resolve), since tests have no Internet.
// A fetched track is fetched again when it starts playing, as Lavalink
// opens the stream then; a failure at that point is a TrackExceptionEvent
// and a TrackEndEvent with reason loadFailed.

// HTTPLoad is one fetch of an http source by the simulator.
type HTTPLoad struct {
	URL string
	// Play is false for /v4/loadtracks and true for the fetch when the
	// track starts.
	Play bool
	// Status is the HTTP status; 0 when the connection failed.
	Status int
	// Format is "wav" when the body was a WAV file, "" otherwise.
	Format string
	Bytes  int
	// Length is the audio's length in milliseconds (WAV only).
	Length int64
}

// maxHTTPLoads bounds the fetches HTTPLoads remembers.
const maxHTTPLoads = 1000

// HTTPLoads returns the http sources fetched so far, in order (the latest
// maxHTTPLoads/2 to maxHTTPLoads of them).
func (s *Server) HTTPLoads() []HTTPLoad {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]HTTPLoad(nil), s.httpLoads...)
}

// fetchable reports whether identifier is an http(s) URL on a loopback host.
func fetchable(identifier string) bool {
	u, err := url.Parse(identifier)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpClient fetches http sources; Lavalink's HTTP source has similar timeouts.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// maxSourceBytes bounds a fetched body.
const maxSourceBytes = 64 << 20

// fetch gets raw and probes it, recording the load; it returns the audio's
// length in ms or the exception Lavalink would give.
func (s *Server) fetch(ctx context.Context, raw string, play bool) (int64, *Exception) {
	rec := HTTPLoad{URL: raw, Play: play}
	defer func() {
		s.mu.Lock()
		if len(s.httpLoads) >= maxHTTPLoads { // a long sandbox run keeps the latest
			s.httpLoads = append(s.httpLoads[:0], s.httpLoads[len(s.httpLoads)-maxHTTPLoads/2:]...)
		}
		s.httpLoads = append(s.httpLoads, rec)
		s.mu.Unlock()
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return 0, exception("Connecting to the URL failed.", "suspicious", "java.io.IOException: "+err.Error())
	}
	req.Header.Set("User-Agent", "Lavalink/"+Version+" (lavalinksim)")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, exception("Connecting to the URL failed.", "suspicious", "java.io.IOException: "+err.Error())
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	if resp.StatusCode == http.StatusNotFound {
		return 0, nil // no match: "empty"
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 || resp.StatusCode == http.StatusNoContent {
		return 0, exception("That URL is not playable.", "common",
			fmt.Sprintf("java.lang.IllegalStateException: Status code %d", resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSourceBytes))
	rec.Bytes = len(body)
	if err != nil {
		return 0, exception("Loading the stream failed.", "suspicious", "java.io.IOException: "+err.Error())
	}
	length, err := wavLength(body)
	if err != nil {
		return 0, exception("Unknown file format.", "common", "com.sedmelluq.discord.lavaplayer.tools.FriendlyException: "+err.Error())
	}
	rec.Format, rec.Length = "wav", length
	return length, nil
}

func exception(message, severity, cause string) *Exception {
	return &Exception{Message: strp(message), Severity: severity, Cause: cause, CauseStackTrace: cause + "\n\tat lavalinksim.fetch"}
}

// loadHTTP answers /v4/loadtracks for a fetchable URL.
func (s *Server) loadHTTP(ctx context.Context, raw string) LoadResult {
	length, exc := s.fetch(ctx, raw, false)
	switch {
	case exc != nil:
		return LoadResult{"error", *exc}
	case length == 0:
		return LoadResult{"empty", struct{}{}}
	}
	return LoadResult{"track", newTrack(TrackInfo{Identifier: raw, Author: "Unknown artist", Length: length,
		Title: "Unknown title", URI: strp(raw), SourceName: "http"})}
}

// openOnPlay fetches a fetchable track again as it starts, on a goroutine
// the server owns, and fails the track if that fails; s.mu is held.
func (s *Server) openOnPlay(sess *session, p *player) {
	t := p.track
	if t == nil || t.Info.SourceName != "http" || !fetchable(t.Info.Identifier) || s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		_, exc := s.fetch(ctx, t.Info.Identifier, true)
		if exc == nil {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if p.track != t || s.closed {
			return // replaced or stopped meanwhile
		}
		s.emit(sess, map[string]any{"op": "event", "type": "TrackExceptionEvent", "guildId": p.guildID, "track": *t, "exception": *exc})
		s.endTrack(sess, p, "loadFailed")
	}()
}

var errNotWAV = errors.New("no WAV container found")

// wavLength returns the length in ms of a PCM WAV file.
func wavLength(b []byte) (int64, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, errNotWAV
	}
	var byteRate int64
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int64(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > len(b) || binary.LittleEndian.Uint16(b[body:]) != 1 {
				return 0, fmt.Errorf("%w: not PCM", errNotWAV)
			}
			byteRate = int64(binary.LittleEndian.Uint32(b[body+8:]))
		case "data":
			if byteRate <= 0 {
				return 0, fmt.Errorf("%w: data before fmt", errNotWAV)
			}
			n := min(size, int64(len(b)-body))
			if n <= 0 {
				return 0, fmt.Errorf("%w: no samples", errNotWAV)
			}
			return max(1, n*1000/byteRate), nil
		}
		off = body + int(size) + int(size%2)
	}
	return 0, fmt.Errorf("%w: no data chunk", errNotWAV)
}
