// Typed errors. Code anywhere throws these; the HTTP edge (src/http/errors.ts) maps them to
// each API's own OpenStack error body. Anything else that escapes becomes a 500 with no detail.

export class NuboError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(status: number, title: string, message: string) {
    super(message);
    this.status = status;
    this.title = title;
  }
}

export class BadRequest extends NuboError {
  constructor(message: string) { super(400, 'Bad Request', message); }
}
export class Unauthorized extends NuboError {
  constructor(message = 'The request you have made requires authentication.') { super(401, 'Unauthorized', message); }
}
export class Forbidden extends NuboError {
  constructor(message = 'You are not authorized to perform the requested action.') { super(403, 'Forbidden', message); }
}
export class NotFound extends NuboError {
  constructor(message: string) { super(404, 'Not Found', message); }
}
export class MethodNotAllowed extends NuboError {
  constructor(message: string) { super(405, 'Method Not Allowed', message); }
}
export class Conflict extends NuboError {
  constructor(message: string) { super(409, 'Conflict', message); }
}
export class PayloadTooLarge extends NuboError {
  constructor(message: string) { super(413, 'Request Entity Too Large', message); }
}
export class ServiceUnavailable extends NuboError {
  constructor(message: string) { super(503, 'Service Unavailable', message); }
}
/** An uploaded image whose bytes are not what its disk_format says, or are unsafe to use. */
export class ImageFormatError extends BadRequest {
  constructor(message: string) { super(message); }
}
