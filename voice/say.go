package voice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// /say speaks a clip (package tts) in the caller's voice channel through the
// channel's agent. It waits politely: a clip never cuts into a song. It goes
// to the front of the queue, after the clips already waiting there, and
// plays when the current track ends, or at once when nothing plays (an agent
// joins for it and leaves when the queue is done). A clip is never repeated
// by /loop: loop track plays the clip and then the looped track again, and
// loop queue does not requeue it. A clip is loaded when its turn comes,
// through a signed URL minted then by the node that plays it, so a URL's
// short life need not cover the wait. A clip that cannot be loaded then is
// skipped.

// SpeechURLs mints the signed URLs through which Lavalink fetches a clip
// from this node; *tts.Speaker provides it.
type SpeechURLs interface {
	URL(ctx context.Context, clip string) (string, error)
}

// The refusals of /say in the music service.
var (
	ErrSpeechOff    = refusal.New("music_speech_off", "Speech isn't set up on this bot.")
	ErrSpeechFailed = refusal.New("music_speech_failed", "The speech could not be played; try again in a moment.")
)

// SayArgs are /say's: the clip to speak, from tts.Speaker.Prepare.
type SayArgs struct {
	Caller
	// Clip is the clip's cache key.
	Clip string `json:"clip"`
	// Text is what it says, shown in /queue and /nowplaying.
	Text string `json:"text"`
	// Length is how long it speaks.
	Length time.Duration `json:"length"`
}

// SayResult says what /say did: Started when the clip plays now, otherwise
// its 1-based Position in the queue.
type SayResult struct {
	Started  bool `json:"started"`
	Position int  `json:"position"`
}

// speechTitle is a clip's title in the queue.
func speechTitle(text string) string {
	const max = 80
	if utf8.RuneCountInString(text) > max {
		text = string([]rune(text)[:max-1]) + "…"
	}
	return "Speech: “" + text + "”"
}

// Say queues the clip in the caller's voice channel ahead of the songs,
// sending an agent there if none is, and starts it if nothing plays.
func (m *Music) Say(ctx context.Context, a SayArgs) (SayResult, error) {
	if m.cfg.Speech == nil {
		return SayResult{}, ErrSpeechOff
	}
	if a.Clip == "" || strings.TrimSpace(a.Text) == "" {
		return SayResult{}, ErrBadArgument.With("There is nothing to say.")
	}
	ch, err := m.userChannel(ctx, a.GuildID, a.UserID)
	if err != nil {
		return SayResult{}, err
	}
	s, err := m.session(ctx, a.GuildID, ch)
	if err != nil {
		return SayResult{}, err
	}
	defer s.op.Unlock()
	item := QueueItem{Speech: a.Clip, RequesterID: a.UserID, AddedAt: time.Now().UTC(), Track: lavalink.Track{Info: lavalink.TrackInfo{
		Identifier: "speech:" + a.Clip, Title: speechTitle(a.Text), Length: a.Length.Milliseconds(), SourceName: "speech"}}}
	pos, err := m.cfg.Queues.AddSpeech(ctx, s.queueID(), item)
	if err != nil {
		if s.fresh {
			m.endQuietly(ctx, s)
		}
		return SayResult{}, err
	}
	now, err := m.cfg.Queues.NowPlaying(ctx, s.queueID())
	if err != nil || now != nil {
		return SayResult{Position: pos}, err
	}
	next, err := m.cfg.Queues.Advance(ctx, s.queueID(), false)
	if err != nil || next == nil {
		return SayResult{Position: pos}, err
	}
	if err := m.startItem(ctx, s, *next); err != nil {
		switch {
		case errors.Is(err, lavalink.ErrVoiceFailed):
			return SayResult{}, m.voiceFailed(ctx, s, err)
		case errors.Is(err, ErrSpeechFailed):
			if aerr := m.advance(ctx, s, true); aerr != nil {
				m.log.Warn("moving past a clip that failed", "guild", s.guildID, "err", aerr)
			}
		}
		return SayResult{}, err
	}
	if s.fresh {
		s.fresh = false
		wait, cancel := context.WithTimeout(ctx, m.cfg.VoiceTimeout)
		err := s.player.WaitVoice(wait)
		cancel()
		if errors.Is(err, lavalink.ErrVoiceFailed) {
			return SayResult{}, m.voiceFailed(ctx, s, err)
		}
	}
	return SayResult{Started: true}, nil
}

// endQuietly ends a session that was made for nothing; s.op is held.
func (m *Music) endQuietly(ctx context.Context, s *session) {
	if err := m.end(context.WithoutCancel(ctx), s); err != nil {
		m.log.Warn("ending an unused session", "guild", s.guildID, "err", err)
	}
}

// startItem plays a queue item: a song as it is, a clip loaded afresh
// through a new signed URL; s.op is held. A clip that cannot be loaded is
// ErrSpeechFailed.
func (m *Music) startItem(ctx context.Context, s *session, it QueueItem) error {
	if it.Speech == "" {
		return m.start(ctx, s, it.Track)
	}
	if m.cfg.Speech == nil {
		return ErrSpeechOff
	}
	url, err := m.cfg.Speech.URL(ctx, it.Speech)
	if err != nil {
		return fmt.Errorf("%w (%w)", ErrSpeechFailed, err)
	}
	loader, err := m.clients.Get(m.cfg.BotUserID)
	if err != nil {
		return err
	}
	res, err := loader.LoadTracks(ctx, url)
	if err != nil {
		return fmt.Errorf("loading a clip: %w", err)
	}
	if res.Type != lavalink.LoadTrack || len(res.Tracks) == 0 {
		m.metrics.trackErrors.WithLabelValues("load").Inc()
		return fmt.Errorf("%w (load type %s: %v)", ErrSpeechFailed, res.Type, res.Exception)
	}
	return m.start(ctx, s, res.Tracks[0])
}

var addSpeechScript = redis.NewScript(`
local n = redis.call('LLEN', KEYS[1])
if n + 1 > tonumber(ARGV[1]) then return -1 end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i, v in ipairs(items) do
  if not cjson.decode(v).speech then
    redis.call('LINSERT', KEYS[1], 'BEFORE', v, ARGV[2])
    return i
  end
end
redis.call('RPUSH', KEYS[1], ARGV[2])
return n + 1`)

// AddSpeech puts a clip in queue queueID after the clips already at its
// front and before the first song, and returns its 1-based position.
func (q *Queues) AddSpeech(ctx context.Context, queueID string, item QueueItem) (int, error) {
	if item.Speech == "" {
		return 0, errors.New("voice: AddSpeech of an item that is not a clip")
	}
	b, err := jsonItem(item)
	if err != nil {
		return 0, err
	}
	qk, _, _ := keys(queueID)
	pos, err := addSpeechScript.Run(ctx, q.rdb, []string{qk}, q.max, b).Int()
	if err != nil {
		return 0, fmt.Errorf("adding to queue: %w", err)
	}
	if pos < 0 {
		return 0, ErrQueueFull.Withf("The queue is full (%d tracks at most). Remove or skip some tracks first.", q.max)
	}
	return pos, nil
}
