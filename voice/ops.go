package voice

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The music operations, each declared once: its name (on the wire and in
// the metrics), its arguments, its result, and what it does on the Music
// that plays in the caller's channel. Do runs one; a Service decides where.
// Adding an operation is adding a Music method and its line here.
var (
	OpPlay = newOp(opInfo{name: "play", slow: true, offer: true},
		func(ctx context.Context, m *Music, a PlayRequest) (PlayResult, error) { return m.Play(ctx, a) })
	OpSay = newOp(opInfo{name: "say", slow: true, offer: true},
		func(ctx context.Context, m *Music, a SayArgs) (SayResult, error) { return m.Say(ctx, a) })
	OpQueue = newOp(opInfo{name: "queue"},
		func(ctx context.Context, m *Music, a QueueArgs) (QueueView, error) {
			return m.Queue(ctx, a.GuildID, a.UserID, a.Page)
		})
	OpSkip = newOp(opInfo{name: "skip"},
		func(ctx context.Context, m *Music, a Caller) (*QueueItem, error) {
			return m.Skip(ctx, a.GuildID, a.UserID)
		})
	OpPause = newOp(opInfo{name: "pause"},
		func(ctx context.Context, m *Music, a Caller) (None, error) {
			return None{}, m.Pause(ctx, a.GuildID, a.UserID)
		})
	OpResume = newOp(opInfo{name: "resume"},
		func(ctx context.Context, m *Music, a Caller) (None, error) {
			return None{}, m.Resume(ctx, a.GuildID, a.UserID)
		})
	OpStop = newOp(opInfo{name: "stop"},
		func(ctx context.Context, m *Music, a Caller) (None, error) {
			return None{}, m.Stop(ctx, a.GuildID, a.UserID)
		})
	OpNowPlaying = newOp(opInfo{name: "nowplaying"},
		func(ctx context.Context, m *Music, a Caller) (NowPlayingInfo, error) {
			return m.NowPlaying(ctx, a.GuildID, a.UserID)
		})
	OpVolume = newOp(opInfo{name: "volume"},
		func(ctx context.Context, m *Music, a VolumeArgs) (None, error) {
			return None{}, m.Volume(ctx, a.GuildID, a.UserID, a.Volume)
		})
	OpSeek = newOp(opInfo{name: "seek"},
		func(ctx context.Context, m *Music, a SeekArgs) (None, error) {
			return None{}, m.Seek(ctx, a.GuildID, a.UserID, a.Position)
		})
	OpLoop = newOp(opInfo{name: "loop"},
		func(ctx context.Context, m *Music, a LoopArgs) (LoopMode, error) {
			return m.Loop(ctx, a.GuildID, a.UserID, a.Mode)
		})
	OpShuffle = newOp(opInfo{name: "shuffle"},
		func(ctx context.Context, m *Music, a Caller) (int, error) { return m.Shuffle(ctx, a.GuildID, a.UserID) })
	OpRemove = newOp(opInfo{name: "remove"},
		func(ctx context.Context, m *Music, a RemoveArgs) (QueueItem, error) {
			return m.Remove(ctx, a.GuildID, a.UserID, a.Position)
		})
	OpFilter = newOp(opInfo{name: "filter"},
		func(ctx context.Context, m *Music, a FilterArgs) (None, error) {
			return None{}, m.Filter(ctx, a.GuildID, a.UserID, a.Name)
		})
)

// Caller is who runs an operation: a user in a guild. Operations act on
// the voice channel the user is in.
type Caller struct {
	GuildID string `json:"guild"`
	UserID  string `json:"user"`
}

func (c Caller) caller() Caller { return c }

// Args is an operation's arguments: its Caller and its own fields, which
// cross the wire as one JSON object.
type Args interface{ caller() Caller }

func (r PlayRequest) caller() Caller { return Caller{GuildID: r.GuildID, UserID: r.UserID} }

// QueueArgs are /queue's: the page, 1-based.
type QueueArgs struct {
	Caller
	Page int `json:"page"`
}

// VolumeArgs are /volume's: percent, 0-200.
type VolumeArgs struct {
	Caller
	Volume int `json:"volume"`
}

// SeekArgs are /seek's: where to jump in the track.
type SeekArgs struct {
	Caller
	Position time.Duration `json:"position"`
}

// LoopArgs are /loop's: off, track or queue.
type LoopArgs struct {
	Caller
	Mode string `json:"mode"`
}

// RemoveArgs are /remove's: the 1-based queue position.
type RemoveArgs struct {
	Caller
	Position int `json:"position"`
}

// FilterArgs are /filter's: the preset's name.
type FilterArgs struct {
	Caller
	Name string `json:"name"`
}

// None is the result of an operation that returns nothing.
type None struct{}

// Op is a music operation taking A and returning R; the Op* variables are
// all there are.
type Op[A Args, R any] struct {
	opInfo
	run func(context.Context, *Music, A) (R, error)
}

// opInfo is what routing needs to know of an operation.
type opInfo struct {
	name string
	// slow operations (loading tracks, sending an agent) wait
	// RouterConfig.PlayTimeout for a forwarded reply.
	slow bool
	// offer: when no agent is free here and nobody plays in the caller's
	// channel, the operation is offered to the other live nodes.
	offer bool
}

func (o opInfo) info() opInfo { return o }

// handler is an Op with its types erased, as Services and the RPC server
// run it.
type handler interface {
	info() opInfo
	// local runs the operation on m; a is the Op's A.
	local(ctx context.Context, m *Music, a Args) (any, error)
	// exec decodes the arguments of a forwarded call and runs it on m.
	exec(ctx context.Context, m *Music, args json.RawMessage) (any, error)
}

func (o *Op[A, R]) local(ctx context.Context, m *Music, a Args) (any, error) {
	return o.run(ctx, m, a.(A))
}

func (o *Op[A, R]) exec(ctx context.Context, m *Music, raw json.RawMessage) (any, error) {
	var a A
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("decoding the arguments of %s: %w", o.name, err)
	}
	return o.run(ctx, m, a)
}

// ops are the operations by name, and opNames their names in order of
// declaration.
var (
	ops     = map[string]handler{}
	opNames []string
)

func newOp[A Args, R any](info opInfo, run func(context.Context, *Music, A) (R, error)) *Op[A, R] {
	if _, dup := ops[info.name]; dup {
		panic("voice: music operation " + info.name + " declared twice")
	}
	o := &Op[A, R]{opInfo: info, run: run}
	ops[info.name] = o
	opNames = append(opNames, info.name)
	return o
}

// Service runs music operations: *Music runs them on this node, *Router
// on whichever node plays in the caller's channel.
type Service interface {
	// do runs h with a; the result is either a value of the Op's R or,
	// from another node, its JSON.
	do(ctx context.Context, h handler, a Args) (result any, remote json.RawMessage, err error)
}

var (
	_ Service = (*Music)(nil)
	_ Service = (*Router)(nil)
)

// Do runs op with args on s.
func Do[A Args, R any](ctx context.Context, s Service, op *Op[A, R], args A) (R, error) {
	var out R
	v, raw, err := s.do(ctx, op, args)
	if raw != nil && err == nil {
		if err := json.Unmarshal(raw, &out); err != nil {
			return out, fmt.Errorf("decoding the reply to %s: %w", op.name, err)
		}
		return out, nil
	}
	if r, ok := v.(R); ok {
		out = r
	}
	return out, err
}

// do runs h here.
func (m *Music) do(ctx context.Context, h handler, a Args) (any, json.RawMessage, error) {
	v, err := h.local(ctx, m, a)
	return v, nil, err
}
