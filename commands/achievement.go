package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// achievementPager is the prefix of /achievements' Previous/Next buttons:
// achpage:<viewer>:<page>:<whose>.
const achievementPager = "achpage"

// achievementsPerPage is the number of achievements on one page.
const achievementsPerPage = 10

// achievementsHelp is /help achievements' note.
const achievementsHelp = "Achievements are awarded once, with their reward in credits, and announced in the reply " +
	"that earned them (those earned by another player's action, such as a sale, arrive within seconds). " +
	"Some give a title, shown on /balance. Hidden ones show as ??? until earned."

// Achievements returns /achievements. Register AchievementComponents too.
func Achievements(svc *economy.Service) []*Command {
	e := &econ{svc: svc, cat: svc.Catalog()}
	min1 := 1.0
	return []*Command{{Name: "achievements", Description: "Achievements earned, and progress toward the rest",
		Options: []Option{
			{Name: "user", Description: "Whose achievements (default: yours)", Type: User},
			{Name: "page", Description: "Page number", Type: Integer, Min: &min1},
		},
		Run: e.achievements}}
}

// AchievementComponents returns /achievements' pager.
func AchievementComponents(svc *economy.Service) []*Component {
	e := &econ{svc: svc, cat: svc.Catalog()}
	return []*Component{{Prefix: achievementPager, Run: e.achievementPage}}
}

func (e *econ) achievements(ctx context.Context, inv *Invocation) (Reply, error) {
	who := inv.User
	if u, ok := inv.UserOption("user"); ok {
		who = u
	}
	if who.Bot {
		return Reply{}, Explain(economy.ErrBotRecipient, "Bots do not earn achievements.")
	}
	return e.achievementReply(ctx, userID(inv.User), userID(who), displayName(who), pageArg(inv))
}

func (e *econ) achievementPage(ctx context.Context, inv *Invocation) (Reply, error) {
	if len(inv.Args) != 3 {
		return Reply{}, Errorf("That button has expired.")
	}
	whose, err := strconv.ParseInt(inv.Args[2], 10, 64)
	if err != nil || whose <= 0 {
		return Reply{}, Errorf("That button has expired.")
	}
	inv.Args = inv.Args[:2]
	viewer, page, err := pageButton(inv)
	if err != nil {
		return Reply{}, err
	}
	return e.achievementReply(ctx, viewer, whose, fmt.Sprintf("<@%d>", whose), page)
}

func (e *econ) achievementReply(ctx context.Context, viewer, whose int64, name string, page int) (Reply, error) {
	list, err := e.svc.AchievementList(ctx, whose)
	if err != nil {
		return Reply{}, fail(err)
	}
	pages := max(1, (len(list)+achievementsPerPage-1)/achievementsPerPage)
	if page < 0 || page >= pages {
		return Reply{}, fail(economy.ErrBadPage)
	}
	earned := 0
	for _, st := range list {
		if st.Earned != nil {
			earned++
		}
	}
	var b strings.Builder
	for _, st := range list[page*achievementsPerPage : min(len(list), (page+1)*achievementsPerPage)] {
		switch {
		case st.Earned != nil:
			fmt.Fprintf(&b, "🏆 **%s**: %s · %s%s\n", st.Name, st.Description, ts(*st.Earned, "d"), titleNote(st.Title))
		case st.Hidden:
			b.WriteString("🔒 **???** (hidden until earned)\n")
		default:
			fmt.Fprintf(&b, "⬜ **%s**: %s · %s · %s%s\n", st.Name, st.Description, st.Progress, credits(st.Reward), titleNote(st.Title))
		}
	}
	r := embed("Achievements of "+name, b.String(), colorEconomy, field("Earned", fmt.Sprintf("%d / %d", earned, len(list)), true))
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: fmt.Sprintf("Page %d of %d", page+1, pages)}
	comps := pager(achievementPager, viewer, page, pages)
	for _, c := range comps {
		for _, ic := range *c.(*discord.ActionRowComponent) {
			btn := ic.(*discord.ButtonComponent)
			btn.CustomID = discord.ComponentID(fmt.Sprintf("%s:%d", btn.CustomID, whose))
		}
	}
	r.Components = comps
	return r, nil
}

// titleNote is an achievement's title as its line in the list shows it.
func titleNote(title string) string {
	if title == "" {
		return ""
	}
	return " · title *" + title + "*"
}

// WithAchievements wraps the commands that change state so that, after
// one succeeds, the caller's achievements are settled from the outbox the
// action wrote in its own transaction (as the operation "achievements:"
// plus the command's own, so a replay announces the same) and new ones
// are announced in the same reply. Should the node stop first, a sweep
// awards them (economy.Service.SweepAchievements).
func WithAchievements(svc *economy.Service, cmds []*Command) []*Command {
	for _, c := range cmds {
		WithAchievements(svc, c.Subcommands)
		if c.Writes && c.Run != nil {
			c.Run = announceAchievements(svc, c.Run)
		}
	}
	return cmds
}

// WithAchievementsComponents is WithAchievements for buttons.
func WithAchievementsComponents(svc *economy.Service, comps []*Component) []*Component {
	for _, c := range comps {
		if c.Writes {
			c.Run = announceAchievements(svc, c.Run)
		}
	}
	return comps
}

func announceAchievements(svc *economy.Service, run Handler) Handler {
	return func(ctx context.Context, inv *Invocation) (Reply, error) {
		r, err := run(ctx, inv)
		if err != nil {
			return r, err
		}
		got, aerr := svc.SettleAchievements(ctx, economy.Op("achievements:"+inv.OperationID()), userID(inv.User))
		if aerr != nil || len(got.New) == 0 {
			// The command succeeded; an award not settled now stays in the
			// outbox for the sweep.
			return r, nil
		}
		var b strings.Builder
		for _, a := range got.New {
			fmt.Fprintf(&b, "🏆 **%s**: %s (+%s)\n", a.Name, a.Description, credits(a.Reward))
		}
		r.Embeds = append(r.Embeds, discord.Embed{Title: "Achievement unlocked!", Description: b.String(), Color: colorGain})
		return r, nil
	}
}
