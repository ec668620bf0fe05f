package commands

import (
	"context"
	"fmt"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/voice"
)

// Music controls: /nowplaying's Pause/Resume, Skip, Stop and Loop buttons,
// which update the message in place, the queue's pages, and /join and
// /leave. The controls act for whoever presses them, as the slash commands
// do: the voice service refuses a presser who is not in the channel. One
// press counts per rendering (Invocation.Once on the interaction that drew
// the buttons), so a double click on Skip skips one track; every press
// draws fresh buttons.

// Custom ID prefixes of the music components.
const (
	musicControlPrefix = "mctl"   // mctl:<render>:<action>
	queuePager         = "mqueue" // mqueue:<owner>:<page>, as pager draws it
)

// loopNext is the mode the Loop button switches to.
var loopNext = map[voice.LoopMode]voice.LoopMode{
	voice.LoopOff: voice.LoopTrack, voice.LoopTrack: voice.LoopQueue, voice.LoopQueue: voice.LoopOff,
}

// MusicControls returns the buttons of /nowplaying and the pages of /queue.
func MusicControls(m MusicService) []*Component {
	mu := &music{m: m}
	return []*Component{
		{Prefix: musicControlPrefix, Writes: true, Run: mu.control},
		{Prefix: queuePager, Run: mu.queuePress},
	}
}

// musicControls draws the buttons for np, named by render (the interaction
// that draws them).
func musicControls(render discord.InteractionID, np voice.NowPlayingInfo) discord.ContainerComponents {
	id := func(action string) discord.ComponentID {
		return discord.ComponentID(fmt.Sprintf("%s:%s:%s", musicControlPrefix, render, action))
	}
	toggle := &discord.ButtonComponent{Style: discord.PrimaryButtonStyle(), Label: "⏸ Pause", CustomID: id("pause")}
	if np.Paused {
		toggle = &discord.ButtonComponent{Style: discord.SuccessButtonStyle(), Label: "▶ Resume", CustomID: id("resume")}
	}
	next := loopNext[np.Loop]
	if next == "" {
		next = voice.LoopOff
	}
	return discord.ContainerComponents{&discord.ActionRowComponent{
		toggle,
		&discord.ButtonComponent{Style: discord.SecondaryButtonStyle(), Label: "⏭ Skip", CustomID: id("skip")},
		&discord.ButtonComponent{Style: discord.DangerButtonStyle(), Label: "⏹ Stop", CustomID: id("stop")},
		&discord.ButtonComponent{Style: discord.SecondaryButtonStyle(), Label: "🔁 Loop: " + string(np.Loop), CustomID: id("loop-" + string(next))},
	}}
}

// control runs a now-playing button and draws the message again.
func (mu *music) control(ctx context.Context, inv *Invocation) (Reply, error) {
	if len(inv.Args) != 2 {
		return Reply{}, Errorf("That button has expired. Run /nowplaying again.")
	}
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	action := inv.Args[1]
	var run func() error
	switch action {
	case "pause", "resume":
		op := voice.OpPause
		if action == "resume" {
			op = voice.OpResume
		}
		run = func() error { _, err := voice.Do(ctx, mu.m, op, c); return err }
	case "skip":
		run = func() error { _, err := voice.Do(ctx, mu.m, voice.OpSkip, c); return err }
	case "stop":
		run = func() error { _, err := voice.Do(ctx, mu.m, voice.OpStop, c); return err }
	case "loop-" + string(voice.LoopOff), "loop-" + string(voice.LoopTrack), "loop-" + string(voice.LoopQueue):
		mode := action[len("loop-"):]
		run = func() error {
			_, err := voice.Do(ctx, mu.m, voice.OpLoop, voice.LoopArgs{Caller: c, Mode: mode})
			return err
		}
	default:
		return Reply{}, Errorf("That button has expired. Run /nowplaying again.")
	}
	if err := inv.Once(ctx); err != nil {
		return Reply{}, err
	}
	if err := run(); err != nil {
		return Reply{}, musicFail(err)
	}
	ended := func(desc string) Reply {
		r := musicReply("Stopped", desc)
		r.Components = discord.ContainerComponents{}
		return r
	}
	if action == "stop" {
		return ended(fmt.Sprintf("%s stopped the music; the queue is cleared and the agent left.", inv.User.ID.Mention())), nil
	}
	np, err := voice.Do(ctx, mu.m, voice.OpNowPlaying, c)
	if err != nil {
		if action == "skip" {
			return ended("The queue is over; the agent left the channel."), nil
		}
		return Reply{}, musicFail(err)
	}
	r := nowPlayingReply(np)
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: controlNote(action, inv.User)}
	r.Components = musicControls(inv.ID, np)
	return r, nil
}

// controlNote says who pressed what, under the updated now-playing.
func controlNote(action string, u discord.User) string {
	verb := map[string]string{"pause": "paused", "resume": "resumed", "skip": "skipped a track"}[action]
	if verb == "" {
		verb = "changed the loop"
	}
	return displayName(u) + " " + verb + "."
}

// queuePress turns /queue's pages; only the user who ran /queue can.
func (mu *music) queuePress(ctx context.Context, inv *Invocation) (Reply, error) {
	_, page, err := pageButton(inv)
	if err != nil {
		return Reply{}, err
	}
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	return mu.queuePage(ctx, inv, c, page+1)
}

// joinLeave are /join and /leave.
func (mu *music) joinLeave() []*Command {
	return []*Command{
		{Name: "join", Description: "Bring a music agent to your voice channel", Run: mu.join, Writes: true},
		{Name: "leave", Description: "Send the music agent away: stops the music and clears the queue", Run: mu.leave, Writes: true},
	}
}

func (mu *music) join(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	res, err := voice.Do(ctx, mu.m, voice.OpJoin, c)
	if err != nil {
		return Reply{}, musicFail(err)
	}
	if res.Already {
		return musicReply("Already here", "A music agent is in your voice channel. Use /play to queue something."), nil
	}
	return musicReply("Joined", "A music agent joined your voice channel. Use /play to queue something."), nil
}

func (mu *music) leave(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := caller(inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := voice.Do(ctx, mu.m, voice.OpStop, c); err != nil {
		return Reply{}, musicFail(err)
	}
	return musicReply("Left", "The music agent left your voice channel; the queue is cleared."), nil
}
