package commands

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// Large payments are sensitive: /pay above LargePayment, or of more than
// half the wallet, asks the payer to confirm with a button first.
const (
	// LargePayment is the amount from which every payment is confirmed.
	LargePayment int64 = 10_000
	// confirmFloor is the amount under which a payment of more than half
	// the wallet needs no confirmation (paying 30 of a 50-credit wallet
	// is not a large transfer).
	confirmFloor int64 = 1_000
	// PayConfirmTTL is how long the Confirm button of a large payment
	// works, from the /pay that showed it.
	PayConfirmTTL = 2 * time.Minute
	// payConfirmPrefix is the custom ID prefix of the Confirm and Cancel
	// buttons: payconfirm:<pay interaction>:<from>:<to>:<amount>:<ok|no>.
	payConfirmPrefix = "payconfirm"
)

// needsPayConfirm reports whether paying amount out of wallet must be
// confirmed: at least LargePayment, or more than half the wallet when at
// least confirmFloor.
func needsPayConfirm(amount, wallet int64) bool {
	return amount >= LargePayment || (amount >= confirmFloor && amount > wallet/2)
}

// payOrConfirm is /pay: a payment that needsPayConfirm gets Confirm and
// Cancel buttons for the payer instead of being made; any other is made
// at once (and any refusal is the payment's own).
func (e *econ) payOrConfirm(ctx context.Context, inv *Invocation) (Reply, error) {
	to, _ := inv.UserOption("user")
	amt, err := e.parseAmount(inv)
	if err != nil {
		return Reply{}, err
	}
	// Small exact amounts, and payments the economy refuses anyway, go
	// straight to it: no balance read on the common path.
	if to.ID == inv.User.ID || to.Bot || (!amt.All && !amt.Half && amt.Value < confirmFloor) {
		return e.pay(ctx, inv)
	}
	a, err := e.svc.Balance(ctx, userID(inv.User))
	if err != nil {
		return Reply{}, fail(err)
	}
	amount := amt.Resolve(a.Wallet)
	if amount <= 0 || amount > a.Wallet || !needsPayConfirm(amount, a.Wallet) {
		return e.pay(ctx, inv)
	}
	id := func(action string) discord.ComponentID {
		return discord.ComponentID(fmt.Sprintf("%s:%s:%d:%d:%d:%s", payConfirmPrefix, inv.ID, inv.User.ID, to.ID, amount, action))
	}
	r := embed("Confirm a large payment",
		fmt.Sprintf("%s, pay %s **%s**? That is %d%% of your wallet.\nConfirm %s, or cancel.",
			inv.User.ID.Mention(), to.ID.Mention(), credits(amount), amount*100/a.Wallet, ts(inv.ID.Time().Add(PayConfirmTTL), "R")),
		colorSpend, field("Your wallet", credits(a.Wallet), true))
	r.Components = discord.ContainerComponents{&discord.ActionRowComponent{
		&discord.ButtonComponent{Style: discord.SuccessButtonStyle(), Label: "Confirm", CustomID: id("ok")},
		&discord.ButtonComponent{Style: discord.SecondaryButtonStyle(), Label: "Cancel", CustomID: id("no")},
	}}
	return r, nil
}

// PayConfirmComponents returns the Confirm and Cancel buttons of large
// payments. Only the payer may press them; the first press decides
// (Invocation.Once on the /pay's interaction ID), and the payment itself
// is one economy operation, so it happens at most once.
func PayConfirmComponents(svc *economy.Service) []*Component {
	e := &econ{svc: svc, cat: svc.Catalog()}
	return []*Component{{Prefix: payConfirmPrefix, Writes: true, Run: e.payConfirm}}
}

// payPress is a decoded Confirm or Cancel press.
type payPress struct {
	pay      discord.InteractionID
	from, to discord.UserID
	amount   int64
	confirm  bool
}

func parsePayPress(args []string) (payPress, error) {
	expired := Errorf("That button has expired. Run /pay again.")
	if len(args) != 5 || (args[4] != "ok" && args[4] != "no") {
		return payPress{}, expired
	}
	pay, err1 := discord.ParseSnowflake(args[0])
	from, err2 := discord.ParseSnowflake(args[1])
	to, err3 := discord.ParseSnowflake(args[2])
	amount, err4 := strconv.ParseInt(args[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || amount <= 0 {
		return payPress{}, expired
	}
	return payPress{pay: discord.InteractionID(pay), from: discord.UserID(from), to: discord.UserID(to), amount: amount, confirm: args[4] == "ok"}, nil
}

func (e *econ) payConfirm(ctx context.Context, inv *Invocation) (Reply, error) {
	p, err := parsePayPress(inv.Args)
	if err != nil {
		return Reply{}, err
	}
	if inv.User.ID != p.from {
		return Reply{}, Errorf("Only %s can confirm or cancel this payment.", p.from.Mention())
	}
	done := func(title, desc string, color discord.Color, fields ...discord.EmbedField) Reply {
		r := embed(title, desc, color, fields...)
		r.Components = discord.ContainerComponents{} // the buttons go
		return r
	}
	if time.Since(p.pay.Time()) > PayConfirmTTL {
		return done("Payment cancelled", "The confirmation expired; nothing was paid. Run /pay again.", colorEconomy), nil
	}
	if err := inv.Once(ctx); err != nil {
		return Reply{}, err
	}
	if !p.confirm {
		return done("Payment cancelled", fmt.Sprintf("Nothing was paid to %s.", p.to.Mention()), colorEconomy), nil
	}
	pay, err := e.svc.Pay(ctx, economy.PayRequest{Op: op(inv), From: int64(p.from), To: int64(p.to), Amount: economy.Exact(p.amount)})
	if err != nil {
		return Reply{}, fail(err)
	}
	return done("Payment sent", fmt.Sprintf("%s paid %s **%s**.", p.from.Mention(), p.to.Mention(), credits(pay.Amount)), colorSpend,
		field("Your wallet", credits(pay.FromWallet), true)), nil
}
