package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// CompanionHelp holds the longer /help texts of /companion and /battle.
func CompanionHelp() map[string]string {
	return map[string]string{
		"companion": "Companions are robot agents. Get one from a Companion Capsule (/shop, then /use). " +
			"Name a companion by its name or #number. Training costs credits and charge, has a cooldown and " +
			"gives XP; every level gives a skill point to /companion learn. Skills raise work pay, gather odds " +
			"or add battle moves. Charge and mood drop with time; a Power Cell recharges (/companion recharge). " +
			"Stasis freezes decay but blocks every action until you wake it. Breeding needs two of your " +
			"companions at the breeding level and a fee, and lays an egg that hatches after a while (/companion hatch); " +
			"the parents are busy until then. The offspring takes each stat from a parent, and may mutate.",
		"battle": "Challenge a player: they get Accept and Decline buttons for 60 seconds, and a menu to pick the companion " +
			"they fight with (Accept takes their best ready one). On accept both wagers go " +
			"into escrow; each turn the player to move picks a move within 30 seconds, or the game moves for them, " +
			"and a second miss forfeits. The winner takes both wagers less a 5% house fee; both companions gain XP.",
	}
}

// Companions returns /companion and /battle and the battle's buttons.
func Companions(svc *economy.Service) ([]*Command, []*Component) {
	c := &companions{svc: svc, cat: svc.Catalog()}
	ref := func(name, desc string) Option {
		return Option{Name: name, Description: desc, Type: String, Required: true, MaxLength: 40, Autocomplete: c.ownChoices}
	}
	comp := ref("companion", "Your companion's name or #number (see /companion list)")
	// view's companion may be another user's: it suggests that user's.
	viewed := comp
	viewed.Autocomplete = c.whoseChoices
	owner := Option{Name: "user", Description: "Whose companions (default: yours)", Type: User}
	cmds := []*Command{
		{Name: "companion", Description: "Your robot companions: train, learn, breed and dress them", Subcommands: []*Command{
			{Name: "list", Description: "List companions", Options: []Option{owner}, Run: c.list},
			{Name: "view", Description: "Show a companion in detail",
				Options: []Option{viewed, {Name: "user", Description: "Whose companion (default: yours)", Type: User}}, Run: c.view},
			{Name: "rename", Description: "Give a companion a new name",
				Options: []Option{comp, {Name: "name", Description: "The new name (1-32 characters)", Type: String, Required: true, MinLength: 1, MaxLength: 32}},
				Run:     c.rename, Writes: true},
			{Name: "train", Description: "Train a companion: credits and charge for XP", Options: []Option{comp}, Run: c.train, Writes: true},
			{Name: "skills", Description: "Show a companion's skill tree", Options: []Option{comp}, Run: c.skills},
			{Name: "learn", Description: "Spend skill points on a skill",
				Options: []Option{comp, {Name: "skill", Description: "The skill's name or key (see /companion skills)", Type: String, Required: true, MaxLength: 40,
					Autocomplete: c.skillChoices}},
				Run: c.learn, Writes: true},
			{Name: "stasis", Description: "Put a companion into stasis, or wake it",
				Options: []Option{comp, {Name: "action", Description: "Enter stasis or wake up", Type: String, Required: true,
					Choices: []Choice{{Name: "enter stasis", Value: "enter"}, {Name: "wake up", Value: "wake"}}}},
				Run: c.stasis, Writes: true},
			{Name: "breed", Description: "Breed two of your companions",
				Options: []Option{ref("first", "The first parent (name or #number)"), ref("second", "The second parent (name or #number)")},
				Run:     c.breed, Writes: true},
			{Name: "hatch", Description: "Hatch your eggs that are ready", Run: c.hatch, Writes: true},
			{Name: "equip", Description: "Put a skin or chassis on a companion",
				Options: []Option{comp, {Name: "item", Description: "The skin or chassis", Type: String, Required: true, Choices: c.cosmeticChoices()}},
				Run:     c.equip, Writes: true},
			{Name: "recharge", Description: "Use a Power Cell on a companion", Options: []Option{comp}, Run: c.recharge, Writes: true},
			{Name: "release", Description: "Let a companion go for good",
				Options: []Option{comp, {Name: "confirm", Description: "True: I understand this cannot be undone", Type: Boolean, Required: true}},
				Run:     c.release, Writes: true},
		}},
		{Name: "battle", Description: "Challenge a player's companion to a battle, with a wager",
			Options: []Option{
				{Name: "user", Description: "Who to challenge", Type: User, Required: true},
				{Name: "wager", Description: "Credits each side puts in: 1500, 1.5k, all, half (default 0)", Type: String, MaxLength: 40},
				{Name: "companion", Description: "Your fighter's name or #number (default: your best ready one)", Type: String, MaxLength: 40,
					Autocomplete: c.ownChoices},
			},
			Run: c.challenge, Writes: true},
	}
	comps := []*Component{{Prefix: battleButton, Run: c.button, Writes: true}}
	return cmds, comps
}

type companions struct {
	svc *economy.Service
	cat *economy.Catalog
}

func (c *companions) cosmeticChoices() []Choice {
	var out []Choice
	for _, it := range c.cat.Cosmetics() {
		if len(out) < 25 {
			out = append(out, Choice{Name: fmt.Sprintf("%s (%s %s)", it.Name, it.Rarity, it.Type), Value: it.Key})
		}
	}
	return out
}

// ownChoices suggests the user's companions for a companion option as
// it is typed: by name or #number, with model, level and state; the value
// sent is the #number.
func (c *companions) ownChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	return c.companionChoices(ctx, userID(inv.User), partial)
}

// whoseChoices suggests the companions of the command's user option when
// it is filled in, else the user's own.
func (c *companions) whoseChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	who := inv.User
	if u, ok := inv.UserOption("user"); ok {
		who = u
	}
	return c.companionChoices(ctx, userID(who), partial)
}

func (c *companions) companionChoices(ctx context.Context, owner int64, partial string) ([]Choice, error) {
	all, err := c.svc.Companions(ctx, owner)
	if err != nil {
		return nil, err
	}
	cands := make([]candidate, 0, len(all))
	for _, cp := range all {
		model, _ := c.modelName(cp.Model)
		num := "#" + strconv.FormatInt(cp.ID, 10)
		kind := " " + model
		if strings.EqualFold(cp.Name, model) {
			kind = "" // named after its model: say it once
		}
		cands = append(cands, candidate{
			choice: Choice{Name: fmt.Sprintf("%s (%s) · Lv %d%s · %s", cp.Name, num, cp.Level, kind, status(cp)), Value: num},
			texts:  []string{cp.Name, num, model},
		})
	}
	return rank(partial, cands), nil
}

// skillChoices suggests the skills the companion named in the command's
// companion option has not learnt yet, those it can learn now first, each
// with its cost or what it waits for and its effect. Without a companion
// (or one the user does not have) it suggests nothing.
func (c *companions) skillChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	ref := strings.TrimSpace(inv.String("companion"))
	if ref == "" {
		return nil, nil
	}
	cp, err := c.svc.FindCompanion(ctx, userID(inv.User), ref)
	if err != nil {
		return nil, nil // the command itself says what is wrong
	}
	m, ok := c.cat.Model(cp.Model)
	if !ok {
		return nil, nil
	}
	has := map[string]bool{}
	for _, k := range cp.Skills {
		has[k] = true
	}
	var now, later []candidate
	for _, sk := range m.Skills {
		if has[sk.Key] {
			continue
		}
		state := fmt.Sprintf("%d pt", sk.Cost)
		switch {
		case cp.Level < sk.Level:
			state = fmt.Sprintf("🔒 level %d", sk.Level)
		case sk.Requires != "" && !has[sk.Requires]:
			state = "🔒 after " + c.skillName(cp.Model, sk.Requires)
		case sk.Cost > cp.FreePoints:
			state = fmt.Sprintf("🔒 %d pt, %d free", sk.Cost, cp.FreePoints)
		}
		cand := candidate{choice: Choice{Name: fmt.Sprintf("%s · %s · %s", sk.Name, state, skillEffect(sk)), Value: sk.Key},
			texts: []string{sk.Name, sk.Key}}
		if strings.HasPrefix(state, "🔒") {
			later = append(later, cand)
		} else {
			now = append(now, cand)
		}
	}
	return rank(partial, append(now, later...)), nil
}

// bar draws n of total as a 10-cell gauge.
func bar(n, total int64) string {
	const cells = 10
	filled := 0
	if total > 0 {
		filled = int(min(cells, max(0, n*cells/total)))
	}
	return strings.Repeat("▰", filled) + strings.Repeat("▱", cells-filled)
}

func (c *companions) modelName(key string) (name, rarity string) {
	if m, ok := c.cat.Model(key); ok {
		return m.Name, m.Rarity
	}
	return key, ""
}

func (c *companions) itemName(key string) string {
	if key == "" {
		return "none"
	}
	if it, ok := c.cat.Item(key); ok {
		return it.Name
	}
	return key
}

// looks is a companion's equipped skin and chassis for a line of a list
// or a fighter in a battle: "" when it wears neither.
func (c *companions) looks(skin, chassis string) string {
	var worn []string
	for _, k := range []string{skin, chassis} {
		if k != "" {
			worn = append(worn, c.itemName(k))
		}
	}
	if len(worn) == 0 {
		return ""
	}
	return " · 🎨 " + strings.Join(worn, ", ")
}

func (c *companions) skillName(model, key string) string {
	if m, ok := c.cat.Model(model); ok {
		if sk, ok := m.Skill(key); ok {
			return sk.Name
		}
	}
	return key
}

// status is a companion's state in a few words.
func status(cp economy.Companion) string {
	switch {
	case cp.Stasis:
		return "🧊 in stasis"
	case cp.BattleID != 0:
		return "⚔️ in battle"
	case cp.Breeding:
		return "🥚 breeding"
	case cp.Charge == 0:
		return "🪫 empty"
	}
	return "✅ ready"
}

// card is the rich embed of a companion.
func (c *companions) card(cp economy.Companion, title string) discord.Embed {
	model, rarity := c.modelName(cp.Model)
	into, span := cp.LevelProgress(c.cat.Companions.MaxLevel)
	level := fmt.Sprintf("**%d** %s", cp.Level, bar(into, span))
	if span > 0 {
		level += fmt.Sprintf(" %d/%d XP", into, span)
	} else {
		level += " (max)"
	}
	var skills []string
	for _, k := range cp.Skills {
		skills = append(skills, c.skillName(cp.Model, k))
	}
	learnt := "none yet"
	if len(skills) > 0 {
		learnt = strings.Join(skills, ", ")
	}
	desc := ""
	if m, ok := c.cat.Model(cp.Model); ok {
		desc = "*" + m.Description + "*\n"
	}
	desc += status(cp)
	if cp.TrainReady != nil {
		desc += " · next training " + ts(*cp.TrainReady, "R")
	}
	if cp.Breeding {
		desc += " · its egg is ready " + ts(*cp.BreedingUntil, "R")
	}
	lineage := fmt.Sprintf("Generation %d", cp.Generation)
	if cp.ParentA != 0 {
		lineage += fmt.Sprintf(" · parents #%d × #%d", cp.ParentA, cp.ParentB)
	}
	if title == "" {
		title = fmt.Sprintf("%s · %s", cp.Name, model)
		if strings.EqualFold(cp.Name, model) {
			title = cp.Name // a companion still named after its model
		}
	}
	return discord.Embed{
		Title: title, Description: desc, Color: rarityColor(rarity),
		Fields: []discord.EmbedField{
			field("Level", level, false),
			field("Stats", fmt.Sprintf("💪 Power %d · 💨 Speed %d · 🎯 Focus %d · ✨ Charm %d",
				cp.Stats.Power, cp.Stats.Speed, cp.Stats.Focus, cp.Stats.Charm), false),
			field("Charge", fmt.Sprintf("⚡ %s %d%%", bar(int64(cp.Charge), economy.MaxCharge), cp.Charge), true),
			field("Mood", fmt.Sprintf("😊 %s %d%%", bar(int64(cp.Mood), economy.MaxMood), cp.Mood), true),
			field("Skills", fmt.Sprintf("%s\n%d skill point(s) free", learnt, cp.FreePoints), false),
			field("Skin", c.itemName(cp.Skin), true),
			field("Chassis", c.itemName(cp.Chassis), true),
			field("Lineage", lineage, true),
		},
		Footer: &discord.EmbedFooter{Text: fmt.Sprintf("#%d · %s %s", cp.ID, rarity, model)},
	}
}

func (c *companions) reply(cp economy.Companion, title, desc string) Reply {
	em := c.card(cp, title)
	if desc != "" {
		em.Description = desc + "\n" + em.Description
	}
	return Reply{Embeds: []discord.Embed{em}}
}

func whose(inv *Invocation) (discord.User, error) {
	if u, ok := inv.UserOption("user"); ok {
		if u.Bot {
			return discord.User{}, Explain(economy.ErrBotRecipient, "Bots do not keep companions.")
		}
		return u, nil
	}
	return inv.User, nil
}

func (c *companions) list(ctx context.Context, inv *Invocation) (Reply, error) {
	who, err := whose(inv)
	if err != nil {
		return Reply{}, err
	}
	all, err := c.svc.Companions(ctx, userID(who))
	if err != nil {
		return Reply{}, fail(err)
	}
	var b strings.Builder
	for _, cp := range all {
		model, rarity := c.modelName(cp.Model)
		fmt.Fprintf(&b, "**%s** (#%d) · %s %s · Lv %d · ⚡%d%% · 😊%d%% · %s%s\n",
			cp.Name, cp.ID, rarity, model, cp.Level, cp.Charge, cp.Mood, status(cp), c.looks(cp.Skin, cp.Chassis))
	}
	eggs, err := c.svc.Eggs(ctx, userID(who))
	if err != nil {
		return Reply{}, fail(err)
	}
	now := time.Now()
	for _, e := range eggs {
		if now.Before(e.ReadyAt) {
			fmt.Fprintf(&b, "🥚 Egg of #%d × #%d · hatches %s\n", e.ParentA, e.ParentB, ts(e.ReadyAt, "R"))
		} else {
			fmt.Fprintf(&b, "🐣 Egg of #%d × #%d · ready: /companion hatch\n", e.ParentA, e.ParentB)
		}
	}
	if len(all)+len(eggs) == 0 {
		b.WriteString("No companions yet. Buy a Companion Capsule in /shop and open it with /use.")
	}
	r := embed(fmt.Sprintf("Companions of %s", displayName(who)), b.String(), colorEconomy)
	perks, err := c.svc.Perks(ctx, userID(who)) // premium raises the cap
	if err != nil {
		return Reply{}, fail(err)
	}
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: fmt.Sprintf("%d of %d (eggs count)", len(all)+len(eggs), perks.MaxCompanions())}
	return r, nil
}

func (c *companions) view(ctx context.Context, inv *Invocation) (Reply, error) {
	who, err := whose(inv)
	if err != nil {
		return Reply{}, err
	}
	cp, err := c.svc.FindCompanion(ctx, userID(who), inv.String("companion"))
	if err != nil {
		return Reply{}, fail(err)
	}
	return c.reply(cp, "", ""), nil
}

func (c *companions) rename(ctx context.Context, inv *Invocation) (Reply, error) {
	r, err := c.svc.RenameCompanion(ctx, op(inv), userID(inv.User), inv.String("companion"), inv.String("name"))
	if err != nil {
		return Reply{}, fail(err)
	}
	return c.reply(r.Companion, "", fmt.Sprintf("Renamed to **%s**.", r.Companion.Name)), nil
}

func (c *companions) train(ctx context.Context, inv *Invocation) (Reply, error) {
	r, err := c.svc.TrainCompanion(ctx, op(inv), userID(inv.User), inv.String("companion"))
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := fmt.Sprintf("Training paid off: **+%d XP** for %s (%s left in your wallet).", r.XPGained, credits(r.Cost), credits(r.Wallet))
	if r.LevelUp {
		desc += fmt.Sprintf("\n🎉 **Level %d!** A new skill point: see /companion skills.", r.Companion.Level)
	}
	return c.reply(r.Companion, "", desc), nil
}

func (c *companions) skills(ctx context.Context, inv *Invocation) (Reply, error) {
	cp, err := c.svc.FindCompanion(ctx, userID(inv.User), inv.String("companion"))
	if err != nil {
		return Reply{}, fail(err)
	}
	m, ok := c.cat.Model(cp.Model)
	if !ok {
		return Reply{}, fail(economy.ErrUnknownSkill)
	}
	has := map[string]bool{}
	for _, k := range cp.Skills {
		has[k] = true
	}
	var b strings.Builder
	for _, sk := range m.Skills {
		mark := "🔒"
		switch {
		case has[sk.Key]:
			mark = "✅"
		case cp.Level >= sk.Level && (sk.Requires == "" || has[sk.Requires]):
			mark = "🔓"
		}
		fmt.Fprintf(&b, "%s **%s** (`%s`) · %d pt · level %d", mark, sk.Name, sk.Key, sk.Cost, sk.Level)
		if sk.Requires != "" {
			fmt.Fprintf(&b, " · after %s", c.skillName(cp.Model, sk.Requires))
		}
		b.WriteString("\n   " + skillEffect(sk) + "\n")
	}
	fmt.Fprintf(&b, "\n%d skill point(s) free. Learn with /companion learn.", cp.FreePoints)
	return embed(fmt.Sprintf("Skill tree of %s (%s)", cp.Name, m.Name), b.String(), rarityColor(m.Rarity)), nil
}

// skillEffect says what a skill does.
func skillEffect(sk economy.SkillSpec) string {
	switch {
	case sk.WorkPay > 0:
		return fmt.Sprintf("+%d%% /work pay", sk.WorkPay)
	case sk.GatherLuck > 0:
		return fmt.Sprintf("+%d%% odds of rare /gather finds", sk.GatherLuck)
	case sk.Move != nil:
		return moveEffect(*sk.Move)
	}
	return ""
}

func moveEffect(mv economy.BattleMove) string {
	switch mv.Kind {
	case economy.MoveAttack:
		return fmt.Sprintf("battle move: attack, power %d, %d%% accuracy", mv.Power, mv.Accuracy)
	case economy.MoveHeal:
		return fmt.Sprintf("battle move: heal %d%% of max HP", mv.Power)
	}
	return fmt.Sprintf("battle move: guard, the next hit is %d%% weaker", mv.Power)
}

// skillKey resolves a skill by key or name among the companion's model's.
func (c *companions) skillKey(ctx context.Context, inv *Invocation) (string, error) {
	text := strings.TrimSpace(inv.String("skill"))
	cp, err := c.svc.FindCompanion(ctx, userID(inv.User), inv.String("companion"))
	if err != nil {
		return "", fail(err)
	}
	if m, ok := c.cat.Model(cp.Model); ok {
		for _, sk := range m.Skills {
			if strings.EqualFold(sk.Key, text) || strings.EqualFold(sk.Name, text) {
				return sk.Key, nil
			}
		}
	}
	return text, nil
}

func (c *companions) learn(ctx context.Context, inv *Invocation) (Reply, error) {
	key, err := c.skillKey(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	r, err := c.svc.LearnSkill(ctx, op(inv), userID(inv.User), inv.String("companion"), key)
	if err != nil {
		return Reply{}, fail(err)
	}
	return c.reply(r.Companion, "", fmt.Sprintf("%s learnt **%s**.", r.Companion.Name, c.skillName(r.Companion.Model, r.Skill))), nil
}

func (c *companions) stasis(ctx context.Context, inv *Invocation) (Reply, error) {
	enter := inv.String("action") == "enter"
	r, err := c.svc.SetStasis(ctx, op(inv), userID(inv.User), inv.String("companion"), enter)
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := fmt.Sprintf("%s is in stasis: its charge and mood are frozen, and it does nothing until you wake it.", r.Companion.Name)
	if !enter {
		desc = fmt.Sprintf("%s is awake.", r.Companion.Name)
	}
	return c.reply(r.Companion, "", desc), nil
}

func (c *companions) breed(ctx context.Context, inv *Invocation) (Reply, error) {
	r, err := c.svc.BreedCompanions(ctx, op(inv), userID(inv.User), inv.String("first"), inv.String("second"))
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := fmt.Sprintf("🥚 **%s** and **%s** made an egg, for %s (%s left in your wallet).\n"+
		"It hatches %s: then use /companion hatch. Both parents are busy breeding until then.",
		r.Parents[0].Name, r.Parents[1].Name, credits(r.Cost), credits(r.Wallet), ts(r.Egg.ReadyAt, "R"))
	return embed("A new egg", desc, colorEconomy), nil
}

func (c *companions) hatch(ctx context.Context, inv *Invocation) (Reply, error) {
	r, err := c.svc.HatchEggs(ctx, op(inv), userID(inv.User))
	if err != nil {
		return Reply{}, fail(err)
	}
	var out Reply
	for i, cp := range r.Hatched {
		_, rarity := c.modelName(cp.Model)
		desc := fmt.Sprintf("🐣 The egg hatches: a **%s** companion of generation %d!", rarity, cp.Generation)
		if r.Eggs[i].Mutated {
			desc += " A **mutation** made it a new model."
		}
		if len(out.Embeds) < 10 {
			out.Embeds = append(out.Embeds, c.card(cp, ""))
			em := &out.Embeds[len(out.Embeds)-1]
			em.Description = desc + "\n" + em.Description
		}
	}
	if len(r.Waiting) > 0 {
		out.Content = fmt.Sprintf("%d more egg(s) incubating; the next hatches %s.", len(r.Waiting), ts(r.Waiting[0].ReadyAt, "R"))
	}
	return out, nil
}

func (c *companions) equip(ctx context.Context, inv *Invocation) (Reply, error) {
	r, err := c.svc.EquipCosmetic(ctx, op(inv), userID(inv.User), inv.String("companion"), inv.String("item"))
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := fmt.Sprintf("%s wears its new look.", r.Companion.Name)
	for _, k := range r.Returned {
		desc += fmt.Sprintf(" The %s is back in your /inventory.", c.itemName(k))
	}
	return c.reply(r.Companion, "", desc), nil
}

func (c *companions) recharge(ctx context.Context, inv *Invocation) (Reply, error) {
	r, err := c.svc.RechargeCompanion(ctx, op(inv), userID(inv.User), inv.String("companion"))
	if err != nil {
		return Reply{}, fail(err)
	}
	return c.reply(r.Companion, "", fmt.Sprintf("⚡ %s is at %d%% charge.", r.Companion.Name, r.Companion.Charge)), nil
}

func (c *companions) release(ctx context.Context, inv *Invocation) (Reply, error) {
	if ok, _ := inv.Bool("confirm"); !ok {
		return Reply{}, economy.ErrReleaseUnconfirmed
	}
	r, err := c.svc.ReleaseCompanion(ctx, op(inv), userID(inv.User), inv.String("companion"))
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := fmt.Sprintf("👋 %s rolls off into the sunset.", r.Companion.Name)
	for _, k := range r.Returned {
		desc += fmt.Sprintf(" The %s is back in your /inventory.", c.itemName(k))
	}
	return embed("Released", desc, colorSpend), nil
}

// openCapsule is /use on the capsule whose item key is key.
func openCapsule(ctx context.Context, svc *economy.Service, inv *Invocation, key string) (Reply, error) {
	r, err := svc.OpenCapsule(ctx, op(inv), userID(inv.User), key)
	if err != nil {
		return Reply{}, fail(err)
	}
	c := &companions{svc: svc, cat: svc.Catalog()}
	_, rarity := c.modelName(r.Companion.Model)
	return c.reply(r.Companion, "", fmt.Sprintf("🎁 The capsule pops open: a **%s** companion! See /companion.", rarity)), nil
}

// companionItemNote describes a companion item in /shop.
func companionItemNote(it *economy.Item) string {
	switch it.Type {
	case economy.TypeCapsule:
		if it.Effect != nil && it.Effect.Percent > 0 {
			return fmt.Sprintf(". /use it for a companion; +%d%% odds of a rare or better model.", it.Effect.Percent)
		}
		return ". /use it for a random companion."
	case economy.TypeCell:
		return ". Recharges a companion (/companion recharge)."
	case economy.TypeSkin, economy.TypeChassis:
		return fmt.Sprintf(". %s %s for a companion (/companion equip).", it.Rarity, it.Type)
	}
	return "."
}

// helperNote says which companion's skill raised a /work or /gather.
func helperNote(h economy.Helper, what string) string {
	if h.Percent == 0 {
		return ""
	}
	return fmt.Sprintf("\n🤖 %s's %s: +%d%% %s.", h.Companion, h.Skill, h.Percent, what)
}
