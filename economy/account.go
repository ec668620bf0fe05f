package economy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Account is a user's balances and daily streak.
type Account struct {
	UserID       int64 `json:"user_id"`
	Wallet       int64 `json:"wallet"`
	Bank         int64 `json:"bank"`
	BankCapacity int64 `json:"bank_capacity"`
	Streak       int   `json:"streak"`
	// Premium is set when premium perks apply; BankCapacity includes them.
	Premium bool `json:"premium,omitempty"`
}

// NetWorth is wallet plus bank, saturating instead of overflowing.
func (a Account) NetWorth() int64 {
	if a.Wallet > math.MaxInt64-a.Bank {
		return math.MaxInt64
	}
	return a.Wallet + a.Bank
}

// Balance returns user's account; a user who never played has an empty
// account with the default bank capacity (nothing is written).
func (s *Service) Balance(ctx context.Context, user int64) (Account, error) {
	if user <= 0 {
		return Account{}, ErrBadUser
	}
	a := Account{UserID: user, BankCapacity: s.cat.Bank.DefaultCapacity}
	start := time.Now()
	defer func() { s.duration.WithLabelValues("balance").Observe(time.Since(start).Seconds()) }()
	err := s.pool.QueryRow(ctx, `SELECT wallet, bank, bank_capacity, streak FROM economy.accounts WHERE user_id = $1`, user).
		Scan(&a.Wallet, &a.Bank, &a.BankCapacity, &a.Streak)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Account{}, fmt.Errorf("economy balance: %w", err)
	}
	perks, err := s.perksAt(ctx, s.pool, user, s.now())
	if err != nil {
		return Account{}, err
	}
	a.BankCapacity, a.Premium = perks.BankCapacity(a.BankCapacity), perks.Premium
	return a, nil
}

// lockAccount locks user's row for this transaction, creating it when the
// user never played, and returns it.
func (t *txn) lockAccount(ctx context.Context, user int64) (Account, error) {
	a := Account{UserID: user}
	err := t.QueryRow(ctx, `SELECT wallet, bank, bank_capacity, streak FROM economy.accounts WHERE user_id = $1 FOR UPDATE`, user).
		Scan(&a.Wallet, &a.Bank, &a.BankCapacity, &a.Streak)
	if errors.Is(err, pgx.ErrNoRows) {
		err = t.QueryRow(ctx, `INSERT INTO economy.accounts (user_id, bank_capacity) VALUES ($1, $2)
			RETURNING wallet, bank, bank_capacity, streak`, user, t.s.cat.Bank.DefaultCapacity).
			Scan(&a.Wallet, &a.Bank, &a.BankCapacity, &a.Streak)
	}
	if err != nil {
		return Account{}, fmt.Errorf("lock account: %w", err)
	}
	return a, nil
}

// credit adds amount (may be negative) to user's wallet, recording the
// ledger leg against counter (Mint or Sink). The guard keeps the wallet
// within 0..MaxInt64.
func (t *txn) credit(ctx context.Context, user, counter, amount int64) (int64, error) {
	var w int64
	var err error
	if amount >= 0 {
		err = t.QueryRow(ctx, `UPDATE economy.accounts SET wallet = wallet + $2::bigint
			WHERE user_id = $1 AND wallet <= 9223372036854775807 - $2::bigint RETURNING wallet`, user, amount).Scan(&w)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, ErrOverflow
		}
	} else {
		err = t.QueryRow(ctx, `UPDATE economy.accounts SET wallet = wallet + $2::bigint
			WHERE user_id = $1 AND wallet >= -$2::bigint RETURNING wallet`, user, amount).Scan(&w)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, ErrInsufficientFunds
		}
	}
	if err != nil {
		return 0, fmt.Errorf("credit: %w", err)
	}
	t.move(user, amount)
	t.move(counter, -amount)
	return w, nil
}

// Payment is the outcome of Pay.
type Payment struct {
	Amount     int64 `json:"amount"`
	FromWallet int64 `json:"from_wallet"` // payer's wallet after the payment
	ToWallet   int64 `json:"to_wallet"`   // payee's wallet after the payment
	TxID       int64 `json:"tx_id"`       // ledger transaction; 0 on a replay
	Replayed   bool  `json:"-"`
}

// PayRequest is a transfer from one user's wallet to another's.
type PayRequest struct {
	Op     Op
	From   int64
	To     int64
	ToBot  bool // the payee is a bot account (Discord says so)
	Amount Amount
}

// Pay moves credits between wallets as one ledger transaction. It rejects
// paying yourself (ErrSelfPay), bots (ErrBotRecipient), amounts <= 0
// (ErrNonPositive), more than the wallet (ErrInsufficientFunds) and a
// payee balance past int64 (ErrOverflow). The transfer is one round trip:
// BEGIN, the economy.transfer function and COMMIT in one pipeline.
func (s *Service) Pay(ctx context.Context, req PayRequest) (Payment, error) {
	switch {
	case !req.Op.valid():
		return Payment{}, ErrBadOperation
	case req.From <= 0 || req.To <= 0:
		return Payment{}, ErrBadUser
	case req.From == req.To:
		return Payment{}, ErrSelfPay
	case req.ToBot:
		return Payment{}, ErrBotRecipient
	}
	amount := req.Amount.Value
	if req.Amount.All || req.Amount.Half {
		// Resolved against the wallet now; the guarded update in the
		// transfer refuses it if the wallet shrank meanwhile.
		a, err := s.Balance(ctx, req.From)
		if err != nil {
			return Payment{}, err
		}
		amount = req.Amount.Resolve(a.Wallet)
	}
	if amount <= 0 {
		return Payment{}, ErrNonPositive
	}
	var stored []byte
	replayed := false
	err := s.retry(ctx, "pay", func(ctx context.Context) error {
		stored, replayed = nil, false
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("economy pay: %w", err)
		}
		defer conn.Release()
		b := &pgx.Batch{}
		b.Queue("BEGIN ISOLATION LEVEL SERIALIZABLE")
		b.Queue("SELECT economy.transfer($1, $2, $3, $4)", string(req.Op), req.From, req.To, amount)
		b.Queue("COMMIT")
		br := conn.SendBatch(ctx, b)
		_, err = br.Exec()
		if err == nil {
			err = br.QueryRow().Scan(&stored)
		}
		if err == nil {
			_, err = br.Exec()
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if conn.Conn().PgConn().TxStatus() != 'I' {
			// Leave the connection clean for the pool.
			if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				_ = conn.Conn().Close(context.WithoutCancel(ctx))
			}
		}
		switch sqlState(err) {
		case "CS001":
			replayed = true
			return nil
		case "CS002":
			return ErrOverflow
		}
		if err != nil {
			return fmt.Errorf("economy pay: %w", err)
		}
		return nil
	})
	if errors.Is(err, ErrOverflow) {
		// Keep the refusal with the operation, like every refusal.
		_, err = s.mutate(ctx, "pay", req.Op, req.From, nil, func(context.Context, *txn) (any, error) {
			return nil, ErrOverflow
		})
		return Payment{}, err
	}
	if err != nil {
		return Payment{}, err
	}
	if replayed {
		if err := s.pool.QueryRow(ctx, `SELECT result FROM economy.transactions WHERE op_id = $1`, string(req.Op)).Scan(&stored); err != nil {
			return Payment{}, fmt.Errorf("economy pay: read stored result: %w", err)
		}
	}
	var p Payment
	if err := decodeResult(stored, &p); err != nil {
		return Payment{}, err
	}
	p.Replayed = replayed
	return p, nil
}

// BankResult is the outcome of a deposit or withdrawal.
type BankResult struct {
	Amount  int64   `json:"amount"`
	Account Account `json:"account"`
}

// Deposit moves credits from user's wallet into the bank, up to the bank
// capacity; `all` deposits as much as fits.
func (s *Service) Deposit(ctx context.Context, op Op, user int64, amt Amount) (BankResult, error) {
	return s.bankMove(ctx, "deposit", op, user, amt, true)
}

// Withdraw moves credits from user's bank into the wallet.
func (s *Service) Withdraw(ctx context.Context, op Op, user int64, amt Amount) (BankResult, error) {
	return s.bankMove(ctx, "withdraw", op, user, amt, false)
}

func (s *Service) bankMove(ctx context.Context, kind string, op Op, user int64, amt Amount, isDeposit bool) (BankResult, error) {
	if !amt.All && !amt.Half && amt.Value <= 0 {
		return BankResult{}, ErrNonPositive
	}
	var r BankResult
	_, err := s.mutate(ctx, kind, op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		a, err := t.lockAccount(ctx, user)
		if err != nil {
			return nil, err
		}
		perks, err := t.perks(ctx, user)
		if err != nil {
			return nil, err
		}
		a.BankCapacity, a.Premium = perks.BankCapacity(a.BankCapacity), perks.Premium
		move := withdrawal
		if isDeposit {
			move = deposit
		}
		n, err := move(a, amt)
		if err != nil {
			return nil, err
		}
		if isDeposit {
			a.Wallet, a.Bank = a.Wallet-n, a.Bank+n
		} else {
			a.Wallet, a.Bank = a.Wallet+n, a.Bank-n
		}
		// bank_bonus records how far premium let the bank go past its
		// stored capacity (008_premium.sql).
		if _, err := t.Exec(ctx, `UPDATE economy.accounts SET wallet = $2, bank = $3,
			bank_bonus = GREATEST(bank_bonus, $3 - bank_capacity) WHERE user_id = $1`,
			user, a.Wallet, a.Bank); err != nil {
			return nil, fmt.Errorf("update bank: %w", err)
		}
		t.memo = fmt.Sprintf("%d", n)
		return BankResult{Amount: n, Account: a}, nil
	})
	return r, err
}
