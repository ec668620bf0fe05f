package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/refusal"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// colorMusic is the embed colour of the music replies.
const colorMusic discord.Color = 0x1DB954

// MusicService runs the music operations (voice.Do) for the voice channel
// the calling user is in. *voice.Music runs them on this node;
// *voice.Router runs them on whichever node plays in that channel.
type MusicService interface {
	voice.Service
}

// Music returns the music commands: /play, /queue, /skip, /pause, /resume,
// /stop, /nowplaying, /volume, /seek, /loop, /shuffle, /remove, /filter,
// /join and /leave. Register MusicControls for their buttons.
// They act on the voice channel the calling user is in.
func Music(m MusicService) []*Command {
	mu := &music{m: m}
	one := 1.0
	zero, twoHundred := 0.0, 200.0
	pickMax := 10.0
	var filters []Choice
	for _, name := range []string{"bassboost", "nightcore", "8d", "off"} {
		filters = append(filters, Choice{Name: name, Value: name})
	}
	return append([]*Command{
		// No command sets Defer: a search usually loads within a second or
		// two, the router defers by itself past DeferAfter, and refusals
		// (not in voice, no agent free) then stay ephemeral, which a
		// deferred public response would not allow. Commands that change
		// the player set Writes: near the deadline they are acknowledged
		// (deferred) before they run, and past it they are dropped.
		{Name: "play", Description: "Play a song or playlist in your voice channel (search terms or a URL)",
			Options: []Option{
				{Name: "query", Description: "Search terms or a URL", Type: String, Required: true, MinLength: 1, MaxLength: 500},
				{Name: "pick", Description: "Which search result to play (1-10, default the first)", Type: Integer, Min: &one, Max: &pickMax},
			}, Run: mu.play, Writes: true},
		{Name: "queue", Description: "Show what is playing and what comes next",
			Options: []Option{{Name: "page", Description: "Page number", Type: Integer, Min: &one}}, Run: mu.queue},
		{Name: "skip", Description: "Skip the current track", Run: mu.skip, Writes: true},
		{Name: "pause", Description: "Pause the music", Run: mu.pause, Writes: true},
		{Name: "resume", Description: "Resume paused music", Run: mu.resume, Writes: true},
		{Name: "stop", Description: "Stop the music, clear the queue and free the agent", Run: mu.stop, Writes: true},
		{Name: "nowplaying", Description: "Show the track playing now", Run: mu.nowPlaying},
		{Name: "volume", Description: "Set the volume (0-200 percent)",
			Options: []Option{{Name: "percent", Description: "0-200 (100 is normal)", Type: Integer, Required: true, Min: &zero, Max: &twoHundred}},
			Run:     mu.volume, Writes: true},
		{Name: "seek", Description: "Jump to a time in the current track",
			Options: []Option{{Name: "time", Description: "Where to jump: 1:30, 90, 1:02:03 or 1m30s", Type: String, Required: true, MaxLength: 20}},
			Run:     mu.seek, Writes: true},
		{Name: "loop", Description: "Repeat nothing, the track or the queue",
			Options: []Option{{Name: "mode", Description: "What to repeat", Type: String, Required: true,
				Choices: []Choice{{Name: "off", Value: "off"}, {Name: "track", Value: "track"}, {Name: "queue", Value: "queue"}}}},
			Run: mu.loop, Writes: true},
		{Name: "shuffle", Description: "Shuffle the queue", Run: mu.shuffle, Writes: true},
		{Name: "remove", Description: "Remove a track from the queue",
			Options: []Option{{Name: "position", Description: "Its position in /queue", Type: Integer, Required: true, Min: &one, Autocomplete: mu.queuePositions}},
			Run:     mu.remove, Writes: true},
		{Name: "filter", Description: "Apply an audio filter",
			Options: []Option{{Name: "name", Description: "The filter", Type: String, Required: true, Choices: filters}},
			Run:     mu.filter, Writes: true},
	}, mu.joinLeave()...)
}

type music struct{ m MusicService }

// musicFail turns the music service's errors into replies: a refusal's
// message is shown, anything else is a failure to log.
func musicFail(err error) error {
	if r, ok := refusal.As(err); ok {
		return Explain(err, r.Message)
	}
	return fmt.Errorf("music: %w", err)
}

// caller returns who runs a music command; music needs a server.
func caller(inv *Invocation) (voice.Caller, error) {
	if !inv.GuildID.IsValid() {
		return voice.Caller{}, Errorf("Music works only in a server's voice channels.")
	}
	return voice.Caller{GuildID: inv.GuildID.String(), UserID: inv.User.ID.String()}, nil
}

func musicReply(title, desc string, fields ...discord.EmbedField) Reply {
	return Reply{Embeds: []discord.Embed{{Title: title, Description: desc, Color: colorMusic, Fields: fields}}}
}

// Bounds on a track line, so that a page of the queue stays readable and
// within an embed (a title taken from a URL can run to hundreds of
// characters).
const (
	maxTrackTitle  = 100
	maxTrackAuthor = 64
	maxTrackLink   = 256
)

// trackLine is "[Title](uri) by Author (3:21)", with markdown escaped; a
// long title or author is shortened, and a long URI is not linked.
func trackLine(t lavalink.Track) string {
	title := escapeMarkdown(clip(t.Info.Title, maxTrackTitle))
	if u := t.Info.URI; u != nil && strings.HasPrefix(*u, "https://") && len(*u) <= maxTrackLink {
		title = "[" + title + "](" + *u + ")"
	} else {
		title = "**" + title + "**"
	}
	length := "live"
	if !t.Info.IsStream {
		length = clock(t.Info.Duration())
	}
	if t.Info.Author != "" {
		return fmt.Sprintf("%s by %s (%s)", title, escapeMarkdown(clip(t.Info.Author, maxTrackAuthor)), length)
	}
	return fmt.Sprintf("%s (%s)", title, length)
}

func escapeMarkdown(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "~", `\~`, "|", `\|`, "[", `\[`, "]", `\]`, ">", `\>`, "@", "@\u200b")
	return r.Replace(s)
}

// clock formats d as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// ParseSeek parses a /seek time: seconds ("90"), m:ss, h:mm:ss or a Go
// duration ("1m30s").
func ParseSeek(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := voice.ErrBadArgument.Withf("%q is not a time; write it like 1:30, 90 or 1m30s.", s)
	if s == "" {
		return 0, bad
	}
	if d, err := time.ParseDuration(s); err == nil && strings.ContainsAny(s, "hms") {
		if d < 0 {
			return 0, bad
		}
		return d, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, bad
	}
	var total int64
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || p == "" || (i > 0 && (n >= 60 || len(p) != 2)) || n > 1e7 {
			return 0, bad
		}
		total = total*60 + n
	}
	return time.Duration(total) * time.Second, nil
}

func (mu *music) play(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	pick, _ := inv.Int("pick")
	res, err := voice.Do(ctx, mu.m, voice.OpPlay, voice.PlayRequest{GuildID: c.GuildID, UserID: c.UserID, Query: inv.String("query"), Pick: int(pick)})
	if err != nil {
		return Reply{}, musicFail(err)
	}
	first := res.Added[0].Track
	switch {
	case res.Playlist != "" && res.Started:
		return musicReply("Playing playlist "+escapeMarkdown(res.Playlist),
			fmt.Sprintf("Now playing %s, and %d more queued.", trackLine(first), len(res.Added)-1)), nil
	case res.Playlist != "":
		return musicReply("Queued playlist "+escapeMarkdown(res.Playlist),
			fmt.Sprintf("%d tracks queued from position %d.", len(res.Added), res.Position)), nil
	case res.Started:
		return musicReply("Now playing", trackLine(first)), nil
	}
	return musicReply("Queued", fmt.Sprintf("%s at position %d.", trackLine(first), res.Position)), nil
}

func (mu *music) queue(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	page := int64(1)
	if p, ok := inv.Int("page"); ok {
		page = p
	}
	return mu.queuePage(ctx, inv, c, int(page))
}

// queuePage shows page (1-based) of the queue, with Previous and Next
// buttons for inv's user.
func (mu *music) queuePage(ctx context.Context, inv *Invocation, c voice.Caller, page int) (Reply, error) {
	v, err := voice.Do(ctx, mu.m, voice.OpQueue, voice.QueueArgs{Caller: c, Page: page})
	if err != nil {
		return Reply{}, musicFail(err)
	}
	var b strings.Builder
	np := v.NowPlaying
	state := "Playing"
	if np.Paused {
		state = "Paused"
	}
	fmt.Fprintf(&b, "%s: %s at %s\n\n", state, trackLine(np.Item.Track), clock(np.Position))
	if v.Total == 0 {
		b.WriteString("Nothing is queued after it.")
	}
	for i, it := range v.Items {
		fmt.Fprintf(&b, "`%d.` %s\n", v.First+i, trackLine(it.Track))
	}
	footer := fmt.Sprintf("Page %d of %d · %d queued · %s · loop %s", v.Page, v.Pages, v.Total, clock(v.Duration), np.Loop)
	r := musicReply("Queue", b.String())
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: footer}
	r.Components = pager(queuePager, userID(inv.User), v.Page-1, v.Pages)
	return r, nil
}

func (mu *music) skip(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	next, err := voice.Do(ctx, mu.m, voice.OpSkip, c)
	if err != nil {
		return Reply{}, musicFail(err)
	}
	if next == nil {
		return musicReply("Skipped", "The queue is over; the agent left the channel."), nil
	}
	return musicReply("Skipped", "Now playing "+trackLine(next.Track)+"."), nil
}

func (mu *music) pause(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := voice.Do(ctx, mu.m, voice.OpPause, c); err != nil {
		return Reply{}, musicFail(err)
	}
	return musicReply("Paused", "Use /resume to go on."), nil
}

func (mu *music) resume(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := voice.Do(ctx, mu.m, voice.OpResume, c); err != nil {
		return Reply{}, musicFail(err)
	}
	return musicReply("Resumed", ""), nil
}

func (mu *music) stop(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := voice.Do(ctx, mu.m, voice.OpStop, c); err != nil {
		return Reply{}, musicFail(err)
	}
	return musicReply("Stopped", "The queue is cleared and the agent left the channel."), nil
}

func (mu *music) nowPlaying(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	np, err := voice.Do(ctx, mu.m, voice.OpNowPlaying, c)
	if err != nil {
		return Reply{}, musicFail(err)
	}
	r := nowPlayingReply(np)
	r.Components = musicControls(inv.ID, np)
	return r, nil
}

// nowPlayingReply shows np.
func nowPlayingReply(np voice.NowPlayingInfo) Reply {
	progress := clock(np.Position)
	if !np.Item.Track.Info.IsStream {
		progress += " / " + clock(np.Item.Track.Info.Duration())
	}
	if np.Paused {
		progress += " (paused)"
	}
	return musicReply("Now playing", trackLine(np.Item.Track),
		discord.EmbedField{Name: "Position", Value: progress, Inline: true},
		discord.EmbedField{Name: "Volume", Value: fmt.Sprintf("%d%%", np.Volume), Inline: true},
		discord.EmbedField{Name: "Loop", Value: string(np.Loop), Inline: true},
		discord.EmbedField{Name: "Filter", Value: np.Filter, Inline: true},
		discord.EmbedField{Name: "Requested by", Value: "<@" + np.Item.RequesterID + ">", Inline: true},
	)
}

func (mu *music) volume(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	v, _ := inv.Int("percent")
	if _, err := voice.Do(ctx, mu.m, voice.OpVolume, voice.VolumeArgs{Caller: c, Volume: int(v)}); err != nil {
		return Reply{}, musicFail(err)
	}
	return musicReply("Volume", fmt.Sprintf("Set to %d%%.", v)), nil
}

func (mu *music) seek(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	pos, err := ParseSeek(inv.String("time"))
	if err != nil {
		return Reply{}, musicFail(err)
	}
	if _, err := voice.Do(ctx, mu.m, voice.OpSeek, voice.SeekArgs{Caller: c, Position: pos}); err != nil {
		return Reply{}, musicFail(err)
	}
	return musicReply("Seeked", "Jumped to "+clock(pos)+"."), nil
}

func (mu *music) loop(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	mode, err := voice.Do(ctx, mu.m, voice.OpLoop, voice.LoopArgs{Caller: c, Mode: inv.String("mode")})
	if err != nil {
		return Reply{}, musicFail(err)
	}
	desc := map[voice.LoopMode]string{voice.LoopOff: "Looping is off.", voice.LoopTrack: "The current track repeats.",
		voice.LoopQueue: "The queue repeats."}[mode]
	return musicReply("Loop: "+string(mode), desc), nil
}

func (mu *music) shuffle(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	n, err := voice.Do(ctx, mu.m, voice.OpShuffle, c)
	if err != nil {
		return Reply{}, musicFail(err)
	}
	if n < 2 {
		return Reply{}, Errorf("There is nothing to shuffle: %s queued.", nounCount(int64(n), "track", "tracks"))
	}
	return musicReply("Shuffled", fmt.Sprintf("%d tracks in a new order.", n)), nil
}

func (mu *music) remove(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	pos, _ := inv.Int("position")
	it, err := voice.Do(ctx, mu.m, voice.OpRemove, voice.RemoveArgs{Caller: c, Position: int(pos)})
	if err != nil {
		return Reply{}, musicFail(err)
	}
	return musicReply("Removed", trackLine(it.Track)+" is out of the queue."), nil
}

func (mu *music) filter(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	name := inv.String("name")
	if _, err := voice.Do(ctx, mu.m, voice.OpFilter, voice.FilterArgs{Caller: c, Name: name}); err != nil {
		return Reply{}, musicFail(err)
	}
	if name == "off" {
		return musicReply("Filter off", "The music sounds as recorded."), nil
	}
	return musicReply("Filter: "+name, "Applied; it takes a moment to be heard."), nil
}
