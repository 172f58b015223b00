package sampleapp

import (
	"fmt"
	"net/http"

	"github.com/funchost/funchost/bindings"
)

// Account is the state of the Account entity: "deposit" and "withdraw" an
// amount (a withdrawal larger than the balance fails), "get" the balance.
type Account struct {
	Balance int `json:"balance"`
}

// Deposit adds amount to the balance.
func (a *Account) Deposit(amount int) { a.Balance += amount }

// Withdraw takes amount from the balance, or fails when it is too small.
func (a *Account) Withdraw(amount int) error {
	if amount > a.Balance {
		return fmt.Errorf("insufficient funds: balance %d, withdrawal %d", a.Balance, amount)
	}
	a.Balance -= amount
	return nil
}

// Get returns the balance.
func (a *Account) Get() int { return a.Balance }

// TransferRequest is the input of the Transfer orchestrator.
type TransferRequest struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int    `json:"amount"`
}

// Transfer moves money between two Account entities atomically: it locks
// both (a critical section), checks the source's balance, withdraws and
// deposits, and unlocks. It returns whether the money moved. Two transfers
// in opposite directions cannot deadlock: locks are taken in entity-ID
// order.
func Transfer(ctx bindings.OrchestrationContext) (any, error) {
	in, err := bindings.GetInput[TransferRequest](ctx)
	if err != nil {
		return nil, err
	}
	from, to := bindings.NewEntityID("Account", in.From), bindings.NewEntityID("Account", in.To)
	unlock, err := bindings.LockEntities(ctx, from, to)
	if err != nil {
		return nil, err
	}
	defer unlock()
	balance, err := bindings.CallEntity[int](ctx, from, "get", nil)
	if err != nil || balance < in.Amount {
		return false, err
	}
	if _, err := bindings.CallEntity[any](ctx, from, "withdraw", in.Amount); err != nil {
		return false, err
	}
	if _, err := bindings.CallEntity[any](ctx, to, "deposit", in.Amount); err != nil {
		return false, err
	}
	return true, nil
}

// AccountSignal (POST /api/accounts/{key}/{op}) signals an Account entity
// like CounterSignal does a Counter.
func AccountSignal(w http.ResponseWriter, r *http.Request) { signalEntity(w, r, "Account") }

// AccountGet (GET /api/accounts/{key}) answers an Account's state.
func AccountGet(w http.ResponseWriter, r *http.Request) { readEntity[Account](w, r, "Account") }
