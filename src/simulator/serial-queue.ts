/** Runs tasks strictly one after another, in submission order; a failed task does not stop the queue. */
export function createSerialQueue () {
  let tail: Promise<unknown> = Promise.resolve()
  return function run<T> (task: () => Promise<T>): Promise<T> {
    const result = tail.then(task, task)
    tail = result.catch(() => undefined)
    return result
  }
}

export type SerialQueue = ReturnType<typeof createSerialQueue>
