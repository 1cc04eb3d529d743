/** A coded error the error handler turns into an application/problem+json response. */
export class AppError extends Error {
  constructor (
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {}
  ) {
    super(message)
    this.name = 'AppError'
  }
}

export const notFound = (entity: string) =>
  new AppError(404, `${entity.toUpperCase().replace(/\s+/g, '_')}_NOT_FOUND`, `${entity} not found`)

export const forbidden = (message = 'Your role does not allow this action') =>
  new AppError(403, 'FORBIDDEN', message)

export const unauthorized = (message = 'Authentication required', code = 'UNAUTHORIZED') =>
  new AppError(401, code, message)

export const conflict = (code: string, message: string, extra?: Record<string, unknown>) =>
  new AppError(409, code, message, extra)

export const unprocessable = (code: string, message: string, extra?: Record<string, unknown>) =>
  new AppError(422, code, message, extra)

export const badRequest = (code: string, message: string, extra?: Record<string, unknown>) =>
  new AppError(400, code, message, extra)
