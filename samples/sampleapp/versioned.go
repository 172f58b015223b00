package sampleapp

import (
	"fmt"

	"github.com/funchost/funchost/bindings"
)

// OrderWorkflowV2 is the version from which OrderWorkflow checks orders for
// fraud. The app's host.json defaultVersion decides the version new
// instances get; instances started earlier keep theirs.
const OrderWorkflowV2 = "2.0"

// OrderWorkflow processes an order (its input, an order ID): it reserves
// the stock, waits for the "Paid" event and ships. Version 2.0 inserted a
// fraud check between reserving and waiting — a change that would break
// instances already past the reservation if it were made unconditionally
// (their history holds the shipment where the new code asks for the check).
// Branching on the instance's version keeps both: instances started before
// 2.0 replay the old steps byte for byte, new ones take the new path
// (docs/versioning.md walks through it).
func OrderWorkflow(ctx bindings.OrchestrationContext) (any, error) {
	order, err := bindings.GetInput[string](ctx)
	if err != nil {
		return nil, fmt.Errorf("OrderWorkflow expects an order ID: %w", err)
	}
	var steps []string
	step := func(activity string) error {
		s, err := bindings.CallActivity[string](ctx, activity, order)
		steps = append(steps, s)
		return err
	}
	if err := step("ReserveItems"); err != nil {
		return nil, err
	}
	if bindings.CompareVersions(ctx.Version(), OrderWorkflowV2) >= 0 {
		if err := step("CheckFraud"); err != nil {
			return nil, err
		}
	}
	ctx.SetCustomStatus("awaiting payment")
	if err := ctx.WaitForExternalEvent("Paid").Await(nil); err != nil {
		return nil, err
	}
	if err := step("ShipOrder"); err != nil {
		return nil, err
	}
	return steps, nil
}

// ReserveItems, CheckFraud and ShipOrder are OrderWorkflow's steps; each
// returns what it did to the order.
func ReserveItems(ctx bindings.ActivityContext) (any, error) { return orderStep(ctx, "reserved") }

// CheckFraud is OrderWorkflow's step added in version 2.0.
func CheckFraud(ctx bindings.ActivityContext) (any, error) { return orderStep(ctx, "checked") }

// ShipOrder is OrderWorkflow's last step.
func ShipOrder(ctx bindings.ActivityContext) (any, error) { return orderStep(ctx, "shipped") }

func orderStep(ctx bindings.ActivityContext, did string) (any, error) {
	var order string
	if err := ctx.Input(&order); err != nil {
		return nil, fmt.Errorf("expects an order ID: %w", err)
	}
	return did + " " + order, nil
}
