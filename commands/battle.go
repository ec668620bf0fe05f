package commands

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/utils/json/option"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// battleButton is the prefix of the battle's buttons:
// battle:<id>:accept, battle:<id>:decline, battle:<id>:view and
// battle:<id>:move:<turn>:<move>, and of the challenged's companion menu,
// battle:<id>:pick (picking one accepts with it).
const battleButton = "battle"

const colorBattle discord.Color = 0xE74C3C

// battleOp is the operation of a battle button press: the interaction, so
// a redelivered press is one operation while each new press is its own
// (the battle's state refuses a second accept or a stale move).
func battleOp(inv *Invocation) economy.Op { return economy.Op("battle:" + inv.ID.String()) }

func (c *companions) challenge(ctx context.Context, inv *Invocation) (Reply, error) {
	foe, _ := inv.UserOption("user")
	var wager int64
	if text := strings.TrimSpace(inv.String("wager")); text != "" {
		a, err := economy.ParseAmount(text)
		if err != nil {
			return Reply{}, fail(err)
		}
		wager = a.Value
		if a.All || a.Half {
			acct, err := c.svc.Balance(ctx, userID(inv.User))
			if err != nil {
				return Reply{}, fail(err)
			}
			wager = a.Resolve(acct.Wallet)
		}
	}
	b, err := c.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(inv), Challenger: userID(inv.User), Challenged: userID(foe),
		ChallengedBot: foe.Bot, Wager: wager, Companion: inv.String("companion"),
		Notify: fmt.Sprintf("%d:%s", inv.AppID, inv.Token)})
	if err != nil {
		return Reply{}, fail(err)
	}
	return c.withPicker(ctx, b, c.battleReply(b, "")), nil
}

// withPicker adds to an open challenge's reply the menu in which the
// challenged picks the companion they accept with (the Accept button takes
// their best ready one). Only the challenged's ready companions are listed;
// a pick by anyone else is refused like their Accept.
func (c *companions) withPicker(ctx context.Context, b economy.Battle, r Reply) Reply {
	if b.State != economy.BattleChallenged || !time.Now().Before(b.Deadline) {
		return r
	}
	all, err := c.svc.Companions(ctx, b.Challenged)
	if err != nil {
		return r // the Accept button still works
	}
	need := max(1, c.cat.Companions.Battle.Charge)
	var options []discord.SelectOption
	for _, cp := range all {
		if cp.Stasis || cp.BattleID != 0 || cp.Charge < need || len(options) == 25 {
			continue
		}
		options = append(options, discord.SelectOption{
			Label: c.fighterLabel(cp.Name, cp.Level, cp.Model),
			Value: "#" + strconv.FormatInt(cp.ID, 10),
			Description: fmt.Sprintf("⚡ %d%% · power %d, speed %d, focus %d, charm %d",
				cp.Charge, cp.Stats.Power, cp.Stats.Speed, cp.Stats.Focus, cp.Stats.Charm),
		})
	}
	if len(options) == 0 {
		return r
	}
	r.Components = append(r.Components, &discord.ActionRowComponent{&discord.StringSelectComponent{
		CustomID:    discord.ComponentID(fmt.Sprintf("%s:%d:pick", battleButton, b.ID)),
		Placeholder: "Or accept with the companion you pick",
		Options:     options,
	}})
	return r
}

// battleReply shows a challenge or battle with the buttons its state
// allows.
func (c *companions) battleReply(b economy.Battle, note string) Reply {
	id := strconv.FormatInt(b.ID, 10)
	button := func(style discord.ButtonComponentStyle, label, custom string) discord.InteractiveComponent {
		return &discord.ButtonComponent{Style: style, Label: label, CustomID: discord.ComponentID(battleButton + ":" + id + ":" + custom)}
	}
	em := discord.Embed{Color: colorBattle}
	var content string
	var rows discord.ContainerComponents
	wager := "a friendly battle (no wager)"
	if b.Wager > 0 {
		wager = credits(b.Wager) + " each"
	}
	f0 := b.Fighters[0]
	state := b.State
	if state == economy.BattleChallenged && !time.Now().Before(b.Deadline) {
		state = economy.BattleExpired // the sweep is about to say so
	}
	switch state {
	case economy.BattleChallenged:
		content = fmt.Sprintf("<@%d>, you are challenged!", b.Challenged)
		em.Title = "⚔️ Battle challenge"
		em.Description = fmt.Sprintf("<@%d> challenges <@%d> to %s with %s.\nThe challenge expires %s.",
			b.Challenger, b.Challenged, wager, c.fighterLabel("**"+f0.Name+"**", f0.Level, f0.Model)+c.looks(f0.Skin, f0.Chassis), ts(b.Deadline, "R"))
		rows = discord.ContainerComponents{&discord.ActionRowComponent{
			button(discord.SuccessButtonStyle(), "Accept", "accept"),
			button(discord.DangerButtonStyle(), "Decline", "decline"),
		}}
	case economy.BattleDeclined, economy.BattleExpired, economy.BattleCancelled:
		// The message's old content and buttons go: a button's reply
		// updates only what it sets.
		content, rows = "The challenge was "+state+".", discord.ContainerComponents{}
		em.Title = "⚔️ Battle " + state
		em.Description = fmt.Sprintf("<@%d>'s challenge to <@%d> was %s. Nobody paid anything.", b.Challenger, b.Challenged, state)
		if b.Note != "" {
			em.Description += "\n" + b.Note
		}
	default:
		em.Title = fmt.Sprintf("⚔️ %s vs %s", b.Fighters[0].Name, b.Fighters[1].Name)
		st := b.Play
		var desc strings.Builder
		fmt.Fprintf(&desc, "Wager: %s\n", wager)
		for _, line := range st.Log {
			desc.WriteString("› " + line + "\n")
		}
		em.Description = desc.String()
		for side, f := range b.Fighters {
			em.Fields = append(em.Fields, field(c.fighterLabel(f.Name, f.Level, f.Model),
				fmt.Sprintf("<@%d>%s\n❤️ %s %d/%d", f.Owner, c.looks(f.Skin, f.Chassis), bar(int64(st.HP[side]), int64(st.MaxHP[side])), st.HP[side], st.MaxHP[side]), true))
		}
		if b.State == economy.BattleDone {
			content, rows = "The battle is over.", discord.ContainerComponents{}
			em.Color = colorGain
			why := map[string]string{"knockout": "by knockout", "forfeit": "by forfeit", "turns": "on points after the last turn"}[st.Reason]
			em.Fields = append(em.Fields, field("Result", fmt.Sprintf("🏆 <@%d> wins %s and takes %s (house fee %s). XP: %s +%d, %s +%d.",
				b.Winner, why, credits(b.Payout), credits(b.Fee), b.Fighters[0].Name, b.XP[0], b.Fighters[1].Name, b.XP[1]), false))
			if b.Prize != "" {
				em.Fields = append(em.Fields, field("Prize", fmt.Sprintf("🎁 <@%d> also won a **%s**!", b.Winner, c.itemName(b.Prize)), false))
			}
			break
		}
		mover := b.Player(st.Side)
		content = fmt.Sprintf("<@%d>, your move!", mover)
		em.Footer = &discord.EmbedFooter{Text: fmt.Sprintf("Turn %d · a missed turn is played for you; a second forfeits", st.Turn+1)}
		em.Fields = append(em.Fields, field("Next move", fmt.Sprintf("<@%d>, due %s", mover, ts(b.Deadline, "R")), false))
		var moves []discord.InteractiveComponent
		for i, mv := range b.Fighters[st.Side].Moves {
			if len(moves) < 4 {
				moves = append(moves, button(discord.PrimaryButtonStyle(), mv.Name, fmt.Sprintf("move:%d:%d", st.Turn, i)))
			}
		}
		moves = append(moves, button(discord.SecondaryButtonStyle(), "🔄", "view"))
		ar := discord.ActionRowComponent(moves)
		rows = discord.ContainerComponents{&ar}
	}
	if note != "" {
		content = strings.TrimSpace(note + " " + content)
	}
	return Reply{Content: content, Embeds: []discord.Embed{em}, Components: rows}
}

// fighterLabel is "name (Lv n Model)", or "name (Lv n)" for a companion
// still named after its model.
func (c *companions) fighterLabel(name string, level int, model string) string {
	m := c.modelLabel(model)
	if strings.EqualFold(strings.Trim(name, "*"), m) {
		return fmt.Sprintf("%s (Lv %d)", name, level)
	}
	return fmt.Sprintf("%s (Lv %d %s)", name, level, m)
}

func (c *companions) modelLabel(key string) string {
	name, _ := c.modelName(key)
	return name
}

// button handles a press on a battle's buttons.
func (c *companions) button(ctx context.Context, inv *Invocation) (Reply, error) {
	if len(inv.Args) < 2 {
		return Reply{}, Errorf("That button has expired.")
	}
	id, err := strconv.ParseInt(inv.Args[0], 10, 64)
	if err != nil || id <= 0 {
		return Reply{}, Errorf("That button has expired.")
	}
	presser := userID(inv.User)
	var b economy.Battle
	switch action := inv.Args[1]; {
	case action == "accept" && len(inv.Args) == 2:
		b, err = c.svc.AcceptBattle(ctx, battleOp(inv), id, presser, "")
	case action == "pick" && len(inv.Args) == 2:
		if len(inv.Values) != 1 {
			return Reply{}, Errorf("Pick one companion to fight with.")
		}
		b, err = c.svc.AcceptBattle(ctx, battleOp(inv), id, presser, inv.Values[0])
	case action == "decline" && len(inv.Args) == 2:
		b, err = c.svc.DeclineBattle(ctx, battleOp(inv), id, presser)
	case action == "view" && len(inv.Args) == 2:
		b, err = c.svc.GetBattle(ctx, id)
	case action == "move" && len(inv.Args) == 4:
		turn, err1 := strconv.Atoi(inv.Args[2])
		move, err2 := strconv.Atoi(inv.Args[3])
		if err1 != nil || err2 != nil {
			return Reply{}, Errorf("That button has expired.")
		}
		b, err = c.svc.MoveBattle(ctx, battleOp(inv), id, presser, turn, move)
	default:
		return Reply{}, Errorf("That button has expired.")
	}
	if errors.Is(err, economy.ErrStaleTurn) || errors.Is(err, economy.ErrBattleOver) || errors.Is(err, economy.ErrChallengeClosed) {
		// An old button (a double click, a turn the game played, an
		// expired challenge): show where the battle is now instead.
		if now, gerr := c.svc.GetBattle(ctx, id); gerr == nil {
			msg, _ := UserMessage(err)
			return c.withPicker(ctx, now, c.battleReply(now, "("+msg+")")), nil
		}
	}
	if err != nil {
		return Reply{}, fail(err)
	}
	return c.withPicker(ctx, b, c.battleReply(b, "")), nil
}

// BattleMessages returns what updates a battle's message after the sweep
// resolved it (an expired challenge, a turn the game played, a forfeit):
// an edit of the /battle interaction's original response, which the
// battle's buttons have been updating. Discord takes it while the
// interaction's token is valid (15 minutes); later the edit fails and the
// message shows the battle's state at the next click.
func BattleMessages(svc *economy.Service, resp Responder) func(ctx context.Context, b economy.Battle) error {
	c := &companions{svc: svc, cat: svc.Catalog()}
	return func(ctx context.Context, b economy.Battle) error {
		app, token, ok := strings.Cut(b.Notify, ":")
		id, err := strconv.ParseUint(app, 10, 64)
		if !ok || err != nil || token == "" {
			return nil // a battle without a message to update
		}
		r := c.battleReply(b, "").fit()
		comps := r.Components
		if comps == nil {
			comps = discord.ContainerComponents{} // the old buttons go
		}
		data := api.EditInteractionResponseData{Content: option.NewNullableString(r.Content), Embeds: &r.Embeds, Components: &comps}
		if _, err := bound(ctx, resp).EditInteractionResponse(discord.AppID(id), token, data); err != nil {
			// A transport error names the URL, which holds the token: keep
			// only its cause.
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return fmt.Errorf("battle %d message: %w", b.ID, err)
		}
		return nil
	}
}
