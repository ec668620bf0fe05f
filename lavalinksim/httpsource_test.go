package lavalinksim

import (
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
)

// testWAV is a WAV file of ms milliseconds of silence, 8 kHz 16-bit mono.
func testWAV(ms int) []byte {
	pcm := make([]byte, 16*ms)
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 8000)
	b = binary.LittleEndian.AppendUint32(b, 16000)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pcm)))
	b = append(b, pcm...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func TestHTTPSourceLoads(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	var onceServed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/clip.wav", func(w http.ResponseWriter, r *http.Request) { w.Write(testWAV(1500)) })
	mux.HandleFunc("/forbidden.wav", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "expired", http.StatusForbidden) })
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("not audio at all")) })
	mux.HandleFunc("/once.wav", func(w http.ResponseWriter, r *http.Request) {
		if onceServed.Swap(true) {
			http.Error(w, "expired", http.StatusForbidden)
			return
		}
		w.Write(testWAV(60000))
	})
	src := httptest.NewServer(mux)
	t.Cleanup(src.Close)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String() + "/gone.wav"
	ln.Close()
	tests := []struct {
		name, url, loadType, message string
		length                       float64
	}{
		{"wav", src.URL + "/clip.wav?sig=abc", "track", "", 1500},
		{"403", src.URL + "/forbidden.wav", "error", "That URL is not playable.", 0},
		{"404", src.URL + "/missing.wav", "empty", "", 0},
		{"not audio", src.URL + "/text", "error", "Unknown file format.", 0},
		{"refused", refused, "error", "Connecting to the URL failed.", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, m := do(t, s, "GET", "/v4/loadtracks?identifier="+url.QueryEscape(tt.url), "", s.Password())
			if st != 200 || m["loadType"] != tt.loadType {
				t.Fatalf("got %d %v, want loadType %s", st, m, tt.loadType)
			}
			switch tt.loadType {
			case "track":
				info := m["data"].(map[string]any)["info"].(map[string]any)
				if info["length"] != tt.length || info["sourceName"] != "http" || info["uri"] != tt.url || info["title"] != "Unknown title" {
					t.Fatalf("info %v", info)
				}
			case "error":
				if got := m["data"].(map[string]any)["message"]; got != tt.message {
					t.Fatalf("message %v, want %q", got, tt.message)
				}
			}
		})
	}
	loads := s.HTTPLoads()
	if len(loads) != len(tests) || loads[0].Format != "wav" || loads[0].Bytes != 44+16*1500 || loads[1].Status != 403 {
		t.Fatalf("HTTPLoads = %+v", loads)
	}

	// Lavalink opens the URL again when the track starts: a URL that no
	// longer answers fails the track then.
	c, _ := dial(t, s, "")
	_, m := do(t, s, "GET", "/v4/loadtracks?identifier="+url.QueryEscape(src.URL+"/once.wav"), "", s.Password())
	enc := m["data"].(map[string]any)["encoded"].(string)
	path := "/v4/sessions/" + c.id + "/players/9"
	if st, m := c.do("PATCH", path, `{"track":{"encoded":"`+enc+`"},"voice":`+voiceJSON+`}`); st != 200 {
		t.Fatalf("%d %v", st, m)
	}
	exc := c.next(isEvent("TrackExceptionEvent"))
	if exc["exception"].(map[string]any)["message"] != "That URL is not playable." {
		t.Fatalf("exception %v", exc)
	}
	if e := c.next(isEvent("TrackEndEvent")); e["reason"] != "loadFailed" {
		t.Fatalf("end %v", e)
	}
	if last := s.HTTPLoads()[len(s.HTTPLoads())-1]; !last.Play || last.Status != 403 {
		t.Fatalf("play fetch %+v", last)
	}
}
