/** Every notification type (public contract); `AUTOMOD_NOTIFY_TYPES` picks among them. */
export const NOTIFY_TYPES = [
  'review.created',
  'removal.completed',
  'ban.created',
  'ban.lifted',
  'removals.paused',
  'removals.resumed',
  'rule.tripped',
  'lockdown.started',
  'lockdown.ended',
] as const;
export type NotifyType = (typeof NOTIFY_TYPES)[number];
