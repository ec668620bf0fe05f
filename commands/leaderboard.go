package commands

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// boardPager is the prefix of /leaderboard's Previous/Next buttons; the
// custom ID carries the owner, the target page, the board and the guild
// (0: global).
const boardPager = "lbpage"

// leaderboardHelp is /help leaderboard's note.
const leaderboardHelp = "Boards: wealth (wallet + bank), collection (each different collectible found scores by " +
	"rarity: common 1, uncommon 2, rare 5, epic 10, legendary 25, mythic 100), companions (the best level of a " +
	"companion you own) and battles (companion battles won). A server's board holds the players " +
	"seen using the bot there. Changes show within about a second."

// Leaderboard returns /leaderboard on boards. Register LeaderboardComponents
// too, and PlayerSeen as the router's Seen so that server boards fill.
func Leaderboard(boards *economy.Leaderboards) []*Command {
	lb := &leaderboards{boards: boards}
	min1 := 1.0
	var choices []Choice
	for _, b := range economy.Boards {
		choices = append(choices, Choice{Name: string(b), Value: string(b)})
	}
	return []*Command{{Name: "leaderboard", Description: "The richest players, best collections and companions, most battles won",
		Options: []Option{
			{Name: "board", Description: "Which board", Type: String, Required: true, Choices: choices},
			{Name: "scope", Description: "This server (default) or everyone", Type: String,
				Choices: []Choice{{Name: "this server", Value: "server"}, {Name: "global", Value: "global"}}},
			{Name: "page", Description: "Page number", Type: Integer, Min: &min1},
		},
		Run: lb.command}}
}

// LeaderboardComponents returns /leaderboard's pager.
func LeaderboardComponents(boards *economy.Leaderboards) []*Component {
	lb := &leaderboards{boards: boards}
	return []*Component{{Prefix: boardPager, Run: lb.press}}
}

type leaderboards struct{ boards *economy.Leaderboards }

func (lb *leaderboards) command(ctx context.Context, inv *Invocation) (Reply, error) {
	guild := int64(inv.GuildID)
	if inv.String("scope") == "global" || !inv.GuildID.IsValid() {
		guild = 0
	}
	return lb.reply(ctx, userID(inv.User), economy.Board(inv.String("board")), guild, pageArg(inv))
}

func (lb *leaderboards) press(ctx context.Context, inv *Invocation) (Reply, error) {
	if len(inv.Args) != 4 {
		return Reply{}, Errorf("That button has expired.")
	}
	board, guildText := inv.Args[2], inv.Args[3]
	inv.Args = inv.Args[:2]
	owner, page, err := pageButton(inv)
	if err != nil {
		return Reply{}, err
	}
	guild, perr := strconv.ParseInt(guildText, 10, 64)
	if perr != nil || guild < 0 {
		return Reply{}, Errorf("That button has expired.")
	}
	return lb.reply(ctx, owner, economy.Board(board), guild, page)
}

func (lb *leaderboards) reply(ctx context.Context, caller int64, board economy.Board, guild int64, page int) (Reply, error) {
	p, err := lb.boards.Page(ctx, board, guild, page, caller)
	if err != nil {
		return Reply{}, fail(err)
	}
	value := func(v int64) string {
		switch board {
		case economy.BoardWealth:
			return credits(v)
		case economy.BoardCompanions:
			return fmt.Sprintf("level %d", v)
		case economy.BoardBattles:
			return nounCount(v, "win", "wins")
		}
		return fmt.Sprintf("%d points", v)
	}
	name := func(e economy.BoardEntry) string {
		if e.Name == "" {
			return "an unnamed player"
		}
		return e.Name
	}
	var b strings.Builder
	for _, e := range p.Rows {
		you := ""
		if e.UserID == caller {
			you = " ← you"
		}
		fmt.Fprintf(&b, "**%d.** %s · %s%s\n", e.Rank, name(e), value(e.Value), you)
	}
	if len(p.Rows) == 0 {
		b.WriteString("Nobody is on this board yet.")
	}
	scope := "this server"
	if guild == 0 {
		scope = "global"
	}
	you := "You are not on this board yet."
	if p.You != nil {
		you = fmt.Sprintf("#%d of %d · %s", p.You.Rank, p.Total, value(p.You.Value))
	}
	title := map[economy.Board]string{economy.BoardWealth: "Richest players", economy.BoardCollection: "Best collections",
		economy.BoardCompanions: "Best companions", economy.BoardBattles: "Most battles won"}[board]
	r := embed(fmt.Sprintf("%s (%s)", title, scope), b.String(), colorEconomy, field("Your rank", you, false))
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: fmt.Sprintf("Page %d of %d", p.Page+1, p.Pages)}
	comps := pager(boardPager, caller, p.Page, p.Pages)
	for _, c := range comps {
		for _, ic := range *c.(*discord.ActionRowComponent) {
			btn := ic.(*discord.ButtonComponent)
			btn.CustomID = discord.ComponentID(fmt.Sprintf("%s:%s:%d", btn.CustomID, board, guild))
		}
	}
	r.Components = comps
	return r, nil
}

// seenTimeout bounds the recording of a player seen.
const seenTimeout = 250 * time.Millisecond

// PlayerSeen returns a Seen hook for the router that records, once an hour
// at most per player and server, that a player uses the bot there and
// their name. Failures are logged; the command runs regardless.
func PlayerSeen(svc *economy.Service, log *slog.Logger) func(ctx context.Context, inv *Invocation) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(ctx context.Context, inv *Invocation) {
		name := displayName(inv.User)
		if strings.HasPrefix(name, "<@") {
			name = ""
		}
		key := fmt.Sprintf("%d:%d:%s", inv.GuildID, inv.User.ID, name)
		now := time.Now()
		mu.Lock()
		if t, ok := last[key]; ok && now.Sub(t) < time.Hour {
			mu.Unlock()
			return
		}
		if len(last) > 100_000 {
			clear(last)
		}
		last[key] = now
		mu.Unlock()
		// Bounded: the command waits for it, and a slow database must not
		// cost it Discord's deadline.
		sctx, cancel := context.WithTimeout(ctx, seenTimeout)
		defer cancel()
		if err := svc.SeePlayer(sctx, int64(inv.GuildID), int64(inv.User.ID), name); err != nil {
			mu.Lock()
			delete(last, key) // try again on the next use
			mu.Unlock()
			if log != nil {
				log.Warn("record player", "err", err)
			}
		}
	}
}
