"""The M/M/1 queue in SimPy, for comparison with `faultline bench mm1`.

Same model: Poisson arrivals at lambda = rho * mu, one server (a Resource of capacity 1), exponential
service with mean 0.1 ms (mu = 10 per ms), and the mean time in the system measured per customer.
Usage: python3 bench/mm1_simpy.py CUSTOMERS [RHO] [SEED]  -> one JSON object on stdout.
"""
import json
import random
import sys
import time

import simpy

SERVICE_MEAN_MS = 0.1


def main():
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rho = float(sys.argv[2]) if len(sys.argv) > 2 else 0.8
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rng = random.Random(seed)
    mu = 1.0 / SERVICE_MEAN_MS
    lam = rho * mu
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    total = [0.0, 0]

    def customer():
        arrived = env.now
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(mu))
        total[0] += env.now - arrived
        total[1] += 1

    def source():
        for _ in range(customers):
            yield env.timeout(rng.expovariate(lam))
            env.process(customer())

    env.process(source())
    start = time.perf_counter()
    env.run()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "customers": total[1],
        "seconds": seconds,
        "customers_per_s": total[1] / seconds,
        "measured_mean_response_ms": total[0] / total[1],
        "theoretical_mean_response_ms": 1.0 / (mu - lam),
        "simpy": simpy.__version__,
    }))


if __name__ == "__main__":
    main()
