package configtest

import (
	"context"
	"fmt"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
)

// ListMembersCanPost is the name of the list invariant.
const ListMembersCanPost = "list-members-can-post"

// checkListMembers: on every list, a plain post from a member is
// distributed, and reaches someone. It simulates the post with
// lists.Store.CheckSettings on the list's current settings (a synthetic
// member and the first real one, on a private in-memory copy), so it
// evaluates the chain the daemon runs and writes nothing. It also names
// lists whose domain is not in lists.domains: their mail is relayed, not
// posted.
//
// It is a Warning, not a Failure: lists meant to hold their members'
// posts (announce-only lists, say) are legitimate, and a settings change
// that makes them so already needed explicit confirmation
// (lists.Change.Confirm). Refusing every reload because of them would
// teach operators to ignore the check.
func checkListMembers(cfg *config.Config, env Env) []string {
	if env.ListsErr != nil {
		return []string{fmt.Sprintf("the list data cannot be read: %v", env.ListsErr)}
	}
	if env.Lists == nil {
		return nil
	}
	ctx := env.Context
	if ctx == nil {
		ctx = context.Background()
	}
	all, err := env.Lists.Lists(ctx)
	if err != nil {
		return []string{fmt.Sprintf("the lists cannot be read: %v", err)}
	}
	var problems []string
	for _, l := range all {
		if !cfg.IsListDomain(l.Domain) {
			problems = append(problems, fmt.Sprintf("list %s: %s is not in lists.domains: mail to the list is relayed (or refused), never posted",
				l.Address(), l.Domain))
			continue
		}
		warns, err := env.Lists.CheckSettings(ctx, l.Address(), l.Settings)
		if err != nil {
			problems = append(problems, fmt.Sprintf("list %s: cannot simulate a member's post: %v", l.Address(), err))
			continue
		}
		for _, w := range warns {
			switch w.Kind {
			case lists.WarnMemberPost:
				problems = append(problems, fmt.Sprintf("list %s: a plain post from member %s is %s by rule %s (%s)",
					l.Address(), w.Poster, outcomeOf(w.Action), w.Rule, w.Reason))
			case lists.WarnDelivery:
				problems = append(problems, fmt.Sprintf("list %s: %s", l.Address(), w.Message))
			}
		}
	}
	return problems
}
