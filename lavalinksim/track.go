package lavalinksim

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Track is a Lavalink track object: the encoded blob and the info it carries.
type Track struct {
	Encoded    string         `json:"encoded"`
	Info       TrackInfo      `json:"info"`
	PluginInfo map[string]any `json:"pluginInfo"`
	UserData   map[string]any `json:"userData"`
}

// TrackInfo is the info object of a track, as documented for Lavalink v4.
type TrackInfo struct {
	Identifier string  `json:"identifier"`
	IsSeekable bool    `json:"isSeekable"`
	Author     string  `json:"author"`
	Length     int64   `json:"length"`
	IsStream   bool    `json:"isStream"`
	Position   int64   `json:"position"`
	Title      string  `json:"title"`
	URI        *string `json:"uri"`
	ArtworkURL *string `json:"artworkUrl"`
	ISRC       *string `json:"isrc"`
	SourceName string  `json:"sourceName"`
}

// Exception is Lavalink's exception object, used by load errors and
// TrackExceptionEvent.
type Exception struct {
	Message         *string `json:"message"`
	Severity        string  `json:"severity"`
	Cause           string  `json:"cause"`
	CauseStackTrace string  `json:"causeStackTrace"`
}

// LoadResult is the body of /v4/loadtracks.
type LoadResult struct {
	LoadType string `json:"loadType"`
	Data     any    `json:"data"`
}

// Playlist is the data of a "playlist" load result.
type Playlist struct {
	Info       PlaylistInfo   `json:"info"`
	PluginInfo map[string]any `json:"pluginInfo"`
	Tracks     []Track        `json:"tracks"`
}

// PlaylistInfo names a playlist and its selected track (-1 for none).
type PlaylistInfo struct {
	Name          string `json:"name"`
	SelectedTrack int    `json:"selectedTrack"`
}

// trackInfoVersioned is lavaplayer's message flag for a versioned track blob.
const trackInfoVersioned = 1

// encodeTrack serialises info in lavaplayer's track format (version 3): a
// header with flags and size, then the fields as Java DataOutput writes them.
func encodeTrack(info TrackInfo) string {
	var body bytes.Buffer
	body.WriteByte(3)
	writeUTF(&body, info.Title)
	writeUTF(&body, info.Author)
	binary.Write(&body, binary.BigEndian, info.Length)
	writeUTF(&body, info.Identifier)
	writeBool(&body, info.IsStream)
	writeNullableUTF(&body, info.URI)
	writeNullableUTF(&body, info.ArtworkURL)
	writeNullableUTF(&body, info.ISRC)
	writeUTF(&body, info.SourceName)
	binary.Write(&body, binary.BigEndian, int64(0)) // position
	var out bytes.Buffer
	binary.Write(&out, binary.BigEndian, uint32(trackInfoVersioned<<30|body.Len()))
	out.Write(body.Bytes())
	return base64.StdEncoding.EncodeToString(out.Bytes())
}

func writeUTF(w *bytes.Buffer, s string) {
	binary.Write(w, binary.BigEndian, uint16(len(s)))
	w.WriteString(s)
}

func writeBool(w *bytes.Buffer, b bool) {
	if b {
		w.WriteByte(1)
	} else {
		w.WriteByte(0)
	}
}

func writeNullableUTF(w *bytes.Buffer, s *string) {
	writeBool(w, s != nil)
	if s != nil {
		writeUTF(w, *s)
	}
}

// errBadTrack reports an encoded track that is not valid base64 lavaplayer data.
var errBadTrack = errors.New("invalid encoded track")

// decodeTrack parses an encoded track produced by encodeTrack (versions 1-3 of
// lavaplayer's format).
func decodeTrack(encoded string) (Track, error) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return Track{}, fmt.Errorf("%w: %v", errBadTrack, err)
	}
	r := bytes.NewReader(raw)
	var header uint32
	if err := binary.Read(r, binary.BigEndian, &header); err != nil {
		return Track{}, fmt.Errorf("%w: short header", errBadTrack)
	}
	size := int(header & 0x3FFFFFFF)
	if size != r.Len() {
		return Track{}, fmt.Errorf("%w: size %d does not match %d bytes", errBadTrack, size, r.Len())
	}
	version := byte(1)
	if header>>30&trackInfoVersioned != 0 {
		if version, err = r.ReadByte(); err != nil {
			return Track{}, fmt.Errorf("%w: no version", errBadTrack)
		}
	}
	if version < 1 || version > 3 {
		return Track{}, fmt.Errorf("%w: unsupported version %d", errBadTrack, version)
	}
	var info TrackInfo
	d := decoder{r: r}
	info.Title = d.utf()
	info.Author = d.utf()
	info.Length = d.int64()
	info.Identifier = d.utf()
	info.IsStream = d.bool()
	if version >= 2 {
		info.URI = d.nullableUTF()
	}
	if version >= 3 {
		info.ArtworkURL = d.nullableUTF()
		info.ISRC = d.nullableUTF()
	}
	info.SourceName = d.utf()
	info.Position = d.int64()
	if d.err != nil {
		return Track{}, fmt.Errorf("%w: %v", errBadTrack, d.err)
	}
	if r.Len() != 0 {
		return Track{}, fmt.Errorf("%w: %d trailing bytes", errBadTrack, r.Len())
	}
	info.IsSeekable = !info.IsStream
	info.Position = 0
	return Track{Encoded: encoded, Info: info, PluginInfo: map[string]any{}, UserData: map[string]any{}}, nil
}

type decoder struct {
	r   *bytes.Reader
	err error
}

func (d *decoder) utf() string {
	if d.err != nil {
		return ""
	}
	var n uint16
	if d.err = binary.Read(d.r, binary.BigEndian, &n); d.err != nil {
		return ""
	}
	b := make([]byte, n)
	if _, d.err = io.ReadFull(d.r, b); d.err != nil {
		return ""
	}
	return string(b)
}

func (d *decoder) int64() int64 {
	var v int64
	if d.err == nil {
		d.err = binary.Read(d.r, binary.BigEndian, &v)
	}
	return v
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	b, err := d.r.ReadByte()
	d.err = err
	return b != 0
}

func (d *decoder) nullableUTF() *string {
	if !d.bool() {
		return nil
	}
	s := d.utf()
	return &s
}

// newTrack builds a track from its info, filling in the encoded form.
func newTrack(info TrackInfo) Track {
	info.IsSeekable = !info.IsStream
	return Track{Encoded: encodeTrack(info), Info: info, PluginInfo: map[string]any{}, UserData: map[string]any{}}
}

func strp(s string) *string { return &s }

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// fakeID returns a deterministic 11-character YouTube-like video id.
func fakeID(seed string) string {
	h := hash64(seed)
	b := make([]byte, 11)
	for i := range b {
		b[i] = idAlphabet[h%64]
		h = h/64 ^ hash64(seed+strconv.Itoa(i))
	}
	return string(b)
}

// fakeLength returns a deterministic length between one and five minutes.
func fakeLength(seed string) int64 {
	return 60_000 + int64(hash64("len:"+seed)%240)*1000
}

func youtubeTrack(id, title, author string, length int64) Track {
	return newTrack(TrackInfo{
		Identifier: id, Author: author, Length: length, Title: title,
		URI:        strp("https://www.youtube.com/watch?v=" + id),
		ArtworkURL: strp("https://i.ytimg.com/vi/" + id + "/maxresdefault.jpg"),
		SourceName: "youtube",
	})
}

// searchPrefixes maps the search prefixes the simulator understands to the
// source that answers them.
var searchPrefixes = map[string]string{"ytsearch:": "youtube", "ytmsearch:": "youtube", "scsearch:": "soundcloud"}

// SearchResults is how many tracks a search returns.
const SearchResults = 5

// resolve answers /v4/loadtracks for identifier deterministically:
//
//   - "ytsearch:", "ytmsearch:", "scsearch:" + terms: a search of SearchResults
//     tracks; terms containing "nomatch" give "empty", terms containing
//     "loaderror" give "error".
//   - YouTube watch/youtu.be URLs and bare 11-character ids: that video.
//   - YouTube playlist URLs (list=...): a playlist of three tracks.
//   - SoundCloud and other http(s) URLs: one track from the URL; the host
//     nomatch.invalid gives "empty", error.invalid gives "error".
//
// Any URL may carry length=<ms> (the track's length, or "unknown" for -1)
// and stream=true (a live stream: not seekable, length -1).
func resolve(identifier string) LoadResult {
	for prefix, source := range searchPrefixes {
		if terms, ok := strings.CutPrefix(identifier, prefix); ok {
			return search(source, strings.TrimSpace(terms))
		}
	}
	if u, err := url.Parse(identifier); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return loadURL(identifier, u)
	}
	if len(identifier) == 11 && strings.Trim(identifier, idAlphabet) == "" {
		return LoadResult{"track", youtubeTrack(identifier, "Video "+identifier, "Channel "+identifier[:4], fakeLength(identifier))}
	}
	return LoadResult{"empty", struct{}{}}
}

func loadError(message, cause string) LoadResult {
	return LoadResult{"error", Exception{Message: strp(message), Severity: "common", Cause: cause,
		CauseStackTrace: cause + "\n\tat lavalinksim.resolve"}}
}

func search(source, terms string) LoadResult {
	lower := strings.ToLower(terms)
	switch {
	case terms == "" || strings.Contains(lower, "nomatch"):
		return LoadResult{"empty", struct{}{}}
	case strings.Contains(lower, "loaderror"):
		return loadError("Something went wrong while looking up the track.", "java.io.IOException: simulated search failure")
	}
	tracks := make([]Track, SearchResults)
	for i := range tracks {
		seed := fmt.Sprintf("%s|%s|%d", source, lower, i)
		title := fmt.Sprintf("%s (result %d)", terms, i+1)
		author := "Artist " + strings.ToUpper(fakeID(seed)[:3])
		if source == "soundcloud" {
			slug := strings.ReplaceAll(lower, " ", "-")
			tracks[i] = newTrack(TrackInfo{
				Identifier: "O:https://api-v2.soundcloud.com/media/" + fakeID(seed), Author: author,
				Length: fakeLength(seed), Title: title,
				URI:        strp(fmt.Sprintf("https://soundcloud.com/%s/%s-%d", strings.ToLower(author[7:]), slug, i+1)),
				SourceName: "soundcloud",
			})
			continue
		}
		tracks[i] = youtubeTrack(fakeID(seed), title, author, fakeLength(seed))
	}
	return LoadResult{"search", tracks}
}

func loadURL(raw string, u *url.URL) LoadResult {
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	q := u.Query()
	length := fakeLength(raw)
	if l, err := strconv.ParseInt(q.Get("length"), 10, 64); err == nil && l > 0 {
		length = l
	} else if q.Get("length") == "unknown" {
		length = -1
	}
	stream := q.Get("stream") == "true"
	switch host {
	case "nomatch.invalid":
		return LoadResult{"empty", struct{}{}}
	case "error.invalid":
		return loadError("Unknown file format.", "com.sedmelluq.discord.lavaplayer.tools.FriendlyException: simulated load failure")
	case "youtube.com", "music.youtube.com", "m.youtube.com":
		if list := q.Get("list"); list != "" && q.Get("v") == "" {
			tracks := make([]Track, 3)
			for i := range tracks {
				id := fakeID(list + strconv.Itoa(i))
				tracks[i] = youtubeTrack(id, fmt.Sprintf("Playlist %s track %d", list, i+1), "Channel "+list, fakeLength(id))
			}
			return LoadResult{"playlist", Playlist{Info: PlaylistInfo{Name: "Playlist " + list, SelectedTrack: -1}, PluginInfo: map[string]any{}, Tracks: tracks}}
		}
		if v := q.Get("v"); v != "" {
			return LoadResult{"track", youtubeTrack(v, "Video "+v, "Channel "+v[:min(4, len(v))], length)}
		}
		return LoadResult{"empty", struct{}{}}
	case "youtu.be":
		id := strings.Trim(u.Path, "/")
		if id == "" {
			return LoadResult{"empty", struct{}{}}
		}
		return LoadResult{"track", youtubeTrack(id, "Video "+id, "Channel "+id[:min(4, len(id))], length)}
	}
	source := "http"
	if host == "soundcloud.com" {
		source = "soundcloud"
	}
	title := path.Base(u.Path)
	if title == "/" || title == "." {
		title = host
	}
	if stream {
		length = -1
	}
	return LoadResult{"track", newTrack(TrackInfo{
		Identifier: raw, Author: host, Length: length, IsStream: stream, Title: title,
		URI: strp(raw), SourceName: source,
	})}
}

// reshape turns the tracks of res into kind: of unknown length, or live
// streams. Their encoded form follows.
func reshape(res LoadResult, kind TrackKind) LoadResult {
	if kind == TracksNormal || kind == "" {
		return res
	}
	change := func(t Track) Track {
		info := t.Info
		info.Length = -1
		info.IsStream = kind == TracksStream
		return newTrack(info)
	}
	switch d := res.Data.(type) {
	case Track:
		res.Data = change(d)
	case []Track:
		out := make([]Track, len(d))
		for i, t := range d {
			out[i] = change(t)
		}
		res.Data = out
	case Playlist:
		tracks := make([]Track, len(d.Tracks))
		for i, t := range d.Tracks {
			tracks[i] = change(t)
		}
		d.Tracks = tracks
		res.Data = d
	}
	return res
}
