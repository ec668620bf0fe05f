package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/lavalink"
)

// QueueItem is one queued track and who asked for it.
type QueueItem struct {
	Track       lavalink.Track `json:"track"`
	RequesterID string         `json:"requester"`
	AddedAt     time.Time      `json:"addedAt"`
	// Speech is the clip key of a /say item (its Track is a placeholder
	// until the clip is loaded as it starts); "" for a song.
	Speech string `json:"speech,omitempty"`
}

func jsonItem(it QueueItem) ([]byte, error) {
	b, err := json.Marshal(it)
	if err != nil {
		return nil, fmt.Errorf("encoding queue item: %w", err)
	}
	return b, nil
}

// LoopMode is what happens when a track ends.
type LoopMode string

// The loop modes of /loop.
const (
	LoopOff   LoopMode = "off"
	LoopTrack LoopMode = "track"
	LoopQueue LoopMode = "queue"
)

// ParseLoopMode parses off, track or queue.
func ParseLoopMode(s string) (LoopMode, error) {
	switch m := LoopMode(strings.ToLower(strings.TrimSpace(s))); m {
	case LoopOff, LoopTrack, LoopQueue:
		return m, nil
	}
	return "", ErrBadArgument.Withf("There is no loop mode %q; choose off, track or queue.", s)
}

// Queues keeps every music queue in Redis, so that any node can read or
// change it and a player moved between nodes keeps it. A queue is named by a
// queue ID (Music uses "guild:voicechannel", since each voice channel can
// have its own agent). Per queue there are three keys sharing a hash tag: the
// queue (a list of JSON QueueItems), the track now playing, and the loop mode.
type Queues struct {
	rdb redis.UniversalClient
	max int
}

// DefaultMaxQueue is the default limit of queued tracks per queue.
const DefaultMaxQueue = 500

// NewQueues returns queues stored in rdb, at most maxLen tracks per queue
// (DefaultMaxQueue if maxLen <= 0).
func NewQueues(rdb redis.UniversalClient, maxLen int) *Queues {
	if maxLen <= 0 {
		maxLen = DefaultMaxQueue
	}
	return &Queues{rdb: rdb, max: maxLen}
}

func keys(queueID string) (queue, now, loop string) {
	base := "chopsticks:music:{" + queueID + "}:"
	return base + "queue", base + "now", base + "loop"
}

var addScript = redis.NewScript(`
local n = redis.call('LLEN', KEYS[1])
if n + #ARGV - 1 > tonumber(ARGV[1]) then return -1 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
return n + 1`)

// Add appends items to queue queueID and returns the 1-based position of
// the first. It adds all or none.
func (q *Queues) Add(ctx context.Context, queueID string, items ...QueueItem) (int, error) {
	if len(items) == 0 {
		return 0, ErrBadArgument.With("There is nothing to add.")
	}
	args := []any{q.max}
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return 0, fmt.Errorf("encoding queue item: %w", err)
		}
		args = append(args, b)
	}
	qk, _, _ := keys(queueID)
	pos, err := addScript.Run(ctx, q.rdb, []string{qk}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("adding to queue: %w", err)
	}
	if pos < 0 {
		return 0, ErrQueueFull.Withf("The queue is full (%d tracks at most). Remove or skip some tracks first.", q.max)
	}
	return pos, nil
}

// QueuePage is one page of a queue listing.
type QueuePage struct {
	Items []QueueItem
	// First is the 1-based queue position of Items[0].
	First       int
	Page, Pages int
	Total       int
	// Duration is the total length of the queued tracks.
	Duration time.Duration
}

// List returns page (1-based) of queue queueID, perPage items each. An
// empty queue has one empty page.
func (q *Queues) List(ctx context.Context, queueID string, page, perPage int) (QueuePage, error) {
	if perPage <= 0 {
		return QueuePage{}, fmt.Errorf("voice: listing a queue with page size %d", perPage)
	}
	qk, _, _ := keys(queueID)
	raw, err := q.rdb.LRange(ctx, qk, 0, -1).Result()
	if err != nil {
		return QueuePage{}, fmt.Errorf("reading queue: %w", err)
	}
	pages := max(1, (len(raw)+perPage-1)/perPage)
	if page < 1 || page > pages {
		return QueuePage{}, ErrBadArgument.Withf("Page %d does not exist (the queue has %d).", page, pages)
	}
	out := QueuePage{Page: page, Pages: pages, Total: len(raw), First: (page-1)*perPage + 1}
	for i, r := range raw {
		var it QueueItem
		if err := json.Unmarshal([]byte(r), &it); err != nil {
			return QueuePage{}, fmt.Errorf("decoding queue item %d: %w", i+1, err)
		}
		out.Duration += it.Track.Info.Duration()
		if i >= out.First-1 && i < out.First-1+perPage {
			out.Items = append(out.Items, it)
		}
	}
	return out, nil
}

// Len returns the number of queued tracks (not counting the one playing).
func (q *Queues) Len(ctx context.Context, queueID string) (int, error) {
	qk, _, _ := keys(queueID)
	n, err := q.rdb.LLen(ctx, qk).Result()
	if err != nil {
		return 0, fmt.Errorf("reading queue length: %w", err)
	}
	return int(n), nil
}

// NowPlaying returns the item playing in queueID, or nil.
func (q *Queues) NowPlaying(ctx context.Context, queueID string) (*QueueItem, error) {
	_, nk, _ := keys(queueID)
	raw, err := q.rdb.Get(ctx, nk).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading now playing: %w", err)
	}
	var it QueueItem
	if err := json.Unmarshal([]byte(raw), &it); err != nil {
		return nil, fmt.Errorf("decoding now playing: %w", err)
	}
	return &it, nil
}

var advanceScript = redis.NewScript(`
local now = redis.call('GET', KEYS[2])
local mode = redis.call('GET', KEYS[3])
local song = now and not cjson.decode(now).speech
if ARGV[1] == '0' and mode == 'track' and song then
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not (head and cjson.decode(head).speech) then return now end
  redis.call('LPOP', KEYS[1])
  redis.call('LPUSH', KEYS[1], now)
  redis.call('SET', KEYS[2], head)
  return head
end
if mode == 'queue' and song then redis.call('RPUSH', KEYS[1], now) end
local nxt = redis.call('LPOP', KEYS[1])
if nxt then redis.call('SET', KEYS[2], nxt) else redis.call('DEL', KEYS[2]) end
return nxt`)

// Advance moves queue queueID on when a track ends and returns the item to
// play next, or nil when the queue is exhausted. Loop track replays the
// current item (unless skip); loop queue puts it at the end of the queue.
// A clip (/say) is never replayed or requeued, and one waiting at the front
// plays even under loop track, the looped song following it.
func (q *Queues) Advance(ctx context.Context, queueID string, skip bool) (*QueueItem, error) {
	qk, nk, lk := keys(queueID)
	flag := "0"
	if skip {
		flag = "1"
	}
	raw, err := advanceScript.Run(ctx, q.rdb, []string{qk, nk, lk}, flag).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("advancing queue: %w", err)
	}
	var it QueueItem
	if err := json.Unmarshal([]byte(raw), &it); err != nil {
		return nil, fmt.Errorf("decoding queue item: %w", err)
	}
	return &it, nil
}

var removeScript = redis.NewScript(`
local v = redis.call('LINDEX', KEYS[1], ARGV[1])
if not v then return false end
redis.call('LSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('LREM', KEYS[1], 1, ARGV[2])
return v`)

// Remove takes the item at the 1-based position out of queue queueID.
func (q *Queues) Remove(ctx context.Context, queueID string, position int) (QueueItem, error) {
	if position < 1 {
		return QueueItem{}, ErrBadArgument.Withf("There is no position %d: positions start at 1.", position)
	}
	qk, _, _ := keys(queueID)
	tomb := fmt.Sprintf("\x00removed:%d", rand.Uint64())
	raw, err := removeScript.Run(ctx, q.rdb, []string{qk}, position-1, tomb).Text()
	if errors.Is(err, redis.Nil) {
		n, _ := q.Len(ctx, queueID)
		return QueueItem{}, ErrBadArgument.Withf("There is no track at position %d (the queue has %d).", position, n)
	}
	if err != nil {
		return QueueItem{}, fmt.Errorf("removing from queue: %w", err)
	}
	var it QueueItem
	if err := json.Unmarshal([]byte(raw), &it); err != nil {
		return QueueItem{}, fmt.Errorf("decoding queue item: %w", err)
	}
	return it, nil
}

// Shuffle randomises the order of queue queueID and returns its length.
func (q *Queues) Shuffle(ctx context.Context, queueID string) (int, error) {
	qk, _, _ := keys(queueID)
	var n int
	for range 10 {
		err := q.rdb.Watch(ctx, func(tx *redis.Tx) error {
			items, err := tx.LRange(ctx, qk, 0, -1).Result()
			if err != nil {
				return err
			}
			n = len(items)
			if n < 2 {
				return nil
			}
			rand.Shuffle(n, func(i, j int) { items[i], items[j] = items[j], items[i] })
			args := make([]any, n)
			for i, it := range items {
				args[i] = it
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, qk)
				p.RPush(ctx, qk, args...)
				return nil
			})
			return err
		}, qk)
		if errors.Is(err, redis.TxFailedErr) {
			continue // the queue changed under us: shuffle the new one
		}
		if err != nil {
			return 0, fmt.Errorf("shuffling queue: %w", err)
		}
		return n, nil
	}
	return 0, errors.New("shuffling queue: too much contention, try again")
}

// SetLoop sets queueID's loop mode.
func (q *Queues) SetLoop(ctx context.Context, queueID string, mode LoopMode) error {
	if _, err := ParseLoopMode(string(mode)); err != nil {
		return err
	}
	_, _, lk := keys(queueID)
	if err := q.rdb.Set(ctx, lk, string(mode), 0).Err(); err != nil {
		return fmt.Errorf("setting loop mode: %w", err)
	}
	return nil
}

// Loop returns queueID's loop mode (off when never set).
func (q *Queues) Loop(ctx context.Context, queueID string) (LoopMode, error) {
	_, _, lk := keys(queueID)
	m, err := q.rdb.Get(ctx, lk).Result()
	if errors.Is(err, redis.Nil) {
		return LoopOff, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading loop mode: %w", err)
	}
	return LoopMode(m), nil
}

// Clear deletes queue queueID, now playing, loop mode and saved playback.
func (q *Queues) Clear(ctx context.Context, queueID string) error {
	qk, nk, lk := keys(queueID)
	if err := q.rdb.Del(ctx, qk, nk, lk, playbackKey(queueID)).Err(); err != nil {
		return fmt.Errorf("clearing queue: %w", err)
	}
	return nil
}

func lavalinkSessionsKey(agentUserID string) string {
	return "chopsticks:music:lavalink-sessions:{" + agentUserID + "}"
}

// SaveLavalinkSession records agentUserID's Lavalink session on node, so
// that a node taking the agent over can resume it (see Music.Adopt).
func (q *Queues) SaveLavalinkSession(ctx context.Context, agentUserID, node, sessionID string) error {
	if err := q.rdb.HSet(ctx, lavalinkSessionsKey(agentUserID), node, sessionID).Err(); err != nil {
		return fmt.Errorf("saving Lavalink session: %w", err)
	}
	return nil
}

// LavalinkSessions returns agentUserID's saved Lavalink sessions by node name.
func (q *Queues) LavalinkSessions(ctx context.Context, agentUserID string) (map[string]string, error) {
	m, err := q.rdb.HGetAll(ctx, lavalinkSessionsKey(agentUserID)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading Lavalink sessions: %w", err)
	}
	return m, nil
}

// Playback is where the track now playing in a queue stood at a moment,
// with the player's settings. Music saves it on every change so that a
// node taking an agent over can restart the track where it was when no
// Lavalink node kept the player (the nodes that held it went down too).
type Playback struct {
	Position time.Duration
	At       time.Time
	Paused   bool
	Volume   int
	Filter   string  // the preset's name, "" for none
	Rate     float64 // how fast the track advances (a filter may speed it up); 0 means 1
}

// PositionAt is where the track stands at t: Position, plus the time since
// At at Rate unless paused.
func (p Playback) PositionAt(t time.Time) time.Duration {
	if p.Paused || t.Before(p.At) {
		return p.Position
	}
	rate := p.Rate
	if rate <= 0 {
		rate = 1
	}
	return p.Position + time.Duration(float64(t.Sub(p.At))*rate)
}

type playbackJSON struct {
	PositionMS int64   `json:"positionMs"`
	AtMS       int64   `json:"atMs"`
	Paused     bool    `json:"paused,omitempty"`
	Volume     int     `json:"volume"`
	Filter     string  `json:"filter,omitempty"`
	Rate       float64 `json:"rate,omitempty"`
}

func playbackKey(queueID string) string { return "chopsticks:music:{" + queueID + "}:playback" }

// SavePlayback records queueID's playback.
func (q *Queues) SavePlayback(ctx context.Context, queueID string, p Playback) error {
	raw, _ := json.Marshal(playbackJSON{PositionMS: p.Position.Milliseconds(), AtMS: p.At.UnixMilli(),
		Paused: p.Paused, Volume: p.Volume, Filter: p.Filter, Rate: p.Rate})
	if err := q.rdb.Set(ctx, playbackKey(queueID), raw, 0).Err(); err != nil {
		return fmt.Errorf("saving playback: %w", err)
	}
	return nil
}

// SavedPlayback returns queueID's saved playback; ok is false when none was
// saved.
func (q *Queues) SavedPlayback(ctx context.Context, queueID string) (p Playback, ok bool, err error) {
	raw, err := q.rdb.Get(ctx, playbackKey(queueID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Playback{}, false, nil
	}
	if err != nil {
		return Playback{}, false, fmt.Errorf("reading playback: %w", err)
	}
	var j playbackJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return Playback{}, false, fmt.Errorf("decoding playback: %w", err)
	}
	return Playback{Position: time.Duration(j.PositionMS) * time.Millisecond, At: time.UnixMilli(j.AtMS),
		Paused: j.Paused, Volume: j.Volume, Filter: j.Filter, Rate: j.Rate}, true, nil
}

func agentChannelsKey(agentUserID string) string {
	return "chopsticks:music:agent-channels:{" + agentUserID + "}"
}

// SaveAgentChannel records that agentUserID plays in channelID of guildID,
// so that a node taking the agent over knows its channels even when no
// Lavalink node kept its players.
func (q *Queues) SaveAgentChannel(ctx context.Context, agentUserID, guildID, channelID string) error {
	if err := q.rdb.HSet(ctx, agentChannelsKey(agentUserID), guildID, channelID).Err(); err != nil {
		return fmt.Errorf("saving agent channel: %w", err)
	}
	return nil
}

// DropAgentChannel forgets agentUserID's channel in guildID.
func (q *Queues) DropAgentChannel(ctx context.Context, agentUserID, guildID string) error {
	if err := q.rdb.HDel(ctx, agentChannelsKey(agentUserID), guildID).Err(); err != nil {
		return fmt.Errorf("dropping agent channel: %w", err)
	}
	return nil
}

// SavedAgentChannels returns agentUserID's recorded channels, guild ID to
// channel ID.
func (q *Queues) SavedAgentChannels(ctx context.Context, agentUserID string) (map[string]string, error) {
	m, err := q.rdb.HGetAll(ctx, agentChannelsKey(agentUserID)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading agent channels: %w", err)
	}
	return m, nil
}
