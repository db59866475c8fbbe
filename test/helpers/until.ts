/**
 * The tests' one wait for something asynchronous: resolves once `cond` holds (polled every 5 ms), throws
 * after `ms`. The limit only bounds how long a failing test hangs, so it is generous for a loaded machine.
 */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
