# %% [markdown]
# ### Counting and gradient descent find the same bigram model
#
# In the makemore video, a bigram model is built twice: once by counting, once as a one-layer
# neural network trained by gradient descent, and both end at the same loss. Here is the same
# experiment in plain Python on a few dozen names. First the counts and the best possible loss.

# %%
import math

names = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily elizabeth
mila ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope layla riley
zoey nora lily eleanor""".split()

alphabet = ["."] + sorted({c for name in names for c in name})
index = {c: i for i, c in enumerate(alphabet)}
V = len(alphabet)
N = [[0] * V for _ in range(V)]  # N[a][b]: how often b follows a
for name in names:
    chars = ["."] + list(name) + ["."]
    for a, b in zip(chars, chars[1:]):
        N[index[a]][index[b]] += 1
pairs = sum(map(sum, N))


def loss(P):
    """Average negative log-likelihood of the training bigrams under row-probabilities P."""
    return -sum(N[a][b] * math.log(P[a][b]) for a in range(V) for b in range(V) if N[a][b]) / pairs


counted = [[n / sum(row) if sum(row) else 1 / V for n in row] for row in N]
print(f"{V} characters, {pairs} bigrams; loss of the counted model: {loss(counted):.4f}")

# %% [markdown]
# The network: one weight per (current, next) pair, read as logits. A row's softmax gives the
# probabilities of the next character. For cross-entropy the gradient for row `a` is
# `n_a · softmax(W[a]) − N[a]` (divided by the number of bigrams): the same counts appear again,
# which is why training has to arrive where counting did.

# %%
def softmax(logits):
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    return [e / total for e in exps]


W = [[0.0] * V for _ in range(V)]  # all zeros: every next character equally likely
learning_rate = 20.0
for step in range(1001):
    P = [softmax(row) for row in W]
    if step % 200 == 0:
        print(f"step {step:3}: loss {loss(P):.4f}")
    for a in range(V):
        seen = sum(N[a])
        for b in range(V):
            W[a][b] -= learning_rate * (seen * P[a][b] - N[a][b]) / pairs

trained = [softmax(row) for row in W]
gap = loss(trained) - loss(counted)
print(f"trained: {loss(trained):.4f}   counted: {loss(counted):.4f}   gap: {gap:.4f}")
assert 0 <= gap < 0.01

# %% [markdown]
# The trained probabilities match the counted ones too, not just the loss:

# %%
for a, b in [(".", "e"), ("l", "a"), ("a", ".")]:
    i, j = index[a], index[b]
    print(f"P({b!r} after {a!r}): counted {counted[i][j]:.3f}   trained {trained[i][j]:.3f}")
worst = max(abs(trained[a][b] - counted[a][b]) for a in range(V) for b in range(V) if sum(N[a]))
print(f"largest difference anywhere: {worst:.3f}")
assert worst < 0.02

# %% [markdown]
# *Try it:* set `learning_rate = 50` and rerun: the row after `'a'`, the busiest one, overshoots
# and never settles. Or add `0.01 * sum(w * w for row in W for w in row)` to the loss (and `0.02 * w` to each
# gradient). That is the video's regularisation, and it does what smoothing the counts did.
