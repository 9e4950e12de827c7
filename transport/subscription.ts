/** A live subscription to a plain (non-persistent) subject or event. */
export interface Subscription {
  unsubscribe(): Promise<void>;
}
