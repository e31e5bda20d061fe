# %% [markdown]
# ### micrograd in miniature: train a tiny network
#
# The video builds `micrograd`: scalar values that remember how they were computed, a `backward()`
# that applies the chain rule through that record, and a small neural network trained with it.
# Below is the same thing, cut down to what the training loop needs, in plain Python.

# %%
import math
import random


class Value:
    def __init__(self, data, parents=()):
        self.data, self.grad = data, 0.0
        self._parents, self._backward = parents, lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    __radd__, __rmul__ = __add__, __mul__

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for parent in v._parents:
                    visit(parent)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


# %% [markdown]
# A layer of neurons, each `tanh(w · x + b)`, and a network of two layers: 3 inputs, 4 hidden
# neurons, 1 output. The weights start random, from a fixed seed so every run is the same.

# %%
rng = random.Random(1)


class Neuron:
    def __init__(self, inputs):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(inputs)]
        self.b = Value(0.0)

    def __call__(self, x):
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).tanh()


class MLP:
    def __init__(self, sizes):
        self.layers = [[Neuron(n_in) for _ in range(n_out)] for n_in, n_out in zip(sizes, sizes[1:])]

    def __call__(self, x):
        for layer in self.layers:
            x = [neuron(x) for neuron in layer]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for n in layer for p in n.w + [n.b]]


net = MLP([3, 4, 1])
print(f"{len(net.parameters())} parameters")

# %% [markdown]
# The four examples from the video, and the training loop: forward pass, loss, zero the
# gradients, backward pass, and a small step against every gradient.

# %%
xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys = [1.0, -1.0, -1.0, 1.0]

losses = []
for step in range(60):
    predictions = [net(x) for x in xs]
    loss = sum(((p - y) * (p - y) for p, y in zip(predictions, ys)), Value(0.0))
    for p in net.parameters():
        p.grad = 0.0  # forgetting this is the bug the video stops to show
    loss.backward()
    for p in net.parameters():
        p.data -= 0.05 * p.grad
    losses.append(loss.data)
    if step % 10 == 0:
        print(f"step {step:2}: loss {loss.data:.4f}")

print("targets:    ", ys)
print("predictions:", [round(net(x).data, 3) for x in xs])
assert losses[-1] < 0.1 * losses[0]
assert all((net(x).data > 0) == (y > 0) for x, y in zip(xs, ys))

# %% [markdown]
# *Try it:* remove the line that zeroes the gradients and train again. On this easy problem the
# loss falls even faster, which is how the bug hid in the video: every `grad` is now the running
# sum of all the gradients so far, not the gradient at this step. Print one to see it.
