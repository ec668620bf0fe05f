package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// Refusals of the economy's commands that say what the user has and what
// to do next, where the economy's own message cannot know: they read the
// user's holdings, on the refusal path only.

// nounCount is "1 credit", "2 credits": n and the noun, singular for 1.
func nounCount(n int64, one, many string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// stackOf returns the user's stack of item key, zero when they have none.
func stackOf(stacks []economy.Stack, key string) economy.Stack {
	for _, st := range stacks {
		if st.Item == key {
			return st
		}
	}
	return economy.Stack{Item: key}
}

// notEnough explains err (economy.ErrNotEnoughItems) for user, who wanted
// want of it to verb ("sell", "use", "put in the vault"): how many they
// have free, and how many are on show in the vault.
func (e *econ) notEnough(ctx context.Context, err error, user int64, it *economy.Item, want int, verb string) error {
	if !errors.Is(err, economy.ErrNotEnoughItems) {
		return fail(err)
	}
	stacks, herr := e.svc.Holdings(ctx, user)
	if herr != nil {
		return fail(err)
	}
	st := stackOf(stacks, it.Key)
	var msg string
	switch {
	case st.Count == 0 && it.Price > 0:
		msg = fmt.Sprintf("You have no %s to %s: buy one in /shop (%s).", it.Name, verb, credits(it.Price))
	case st.Count == 0:
		msg = fmt.Sprintf("You have no %s to %s. See /inventory.", it.Name, verb)
	case free(st) == 0:
		msg = fmt.Sprintf("Every %s you have (%d) is on show in your vault: take one off with /vault remove first.", it.Name, st.Count)
	default:
		msg = fmt.Sprintf("You have %d %s you can %s, not %d.", free(st), it.Name, verb, want)
		if st.Vaulted > 0 {
			msg += fmt.Sprintf(" (%d more on show in your vault.)", st.Vaulted)
		}
	}
	return Explain(err, msg)
}

// noTool explains economy.ErrNoTool for user, who asked for tool (""
// for any): the tools they do have, and where to get the one they named.
func (e *econ) noTool(ctx context.Context, err error, user int64, tool string) error {
	if !errors.Is(err, economy.ErrNoTool) {
		return fail(err)
	}
	stacks, herr := e.svc.Holdings(ctx, user)
	if herr != nil {
		return fail(err)
	}
	var have []string
	for _, st := range stacks {
		if it, ok := e.cat.Item(st.Item); ok && it.Type == economy.TypeTool && free(st) > 0 {
			have = append(have, fmt.Sprintf("%s (`/gather tool:%s`)", it.Name, it.Key))
		}
	}
	named, ok := e.cat.Item(tool)
	switch {
	case !ok && len(have) == 0:
		return fail(err) // the economy's own message says it all
	case !ok:
		return Explain(err, "Your tools are all in use or on show. You have: "+strings.Join(have, ", ")+".")
	case len(have) == 0:
		return Explain(err, fmt.Sprintf("You have no %s, nor any other tool: buy one in /shop (%s for a %s).", named.Name, credits(named.Price), named.Name))
	}
	return Explain(err, fmt.Sprintf("You have no %s. You have %s; or buy a %s in /shop (%s).", named.Name, strings.Join(have, ", "), named.Name, credits(named.Price)))
}
