import type { SliceClick, SliceConversion, SliceMessage } from "../db/webhooks";
import type { WebhookEventType } from "../db/schema";
import { EXPERIMENT_ERROR, firstErrorCode, LIMITED_ERROR } from "../lib/whatsapp-errors";
import { toIso } from "../schemas/common";

/**
 * The bodies outbound webhooks carry: `{ type, timestamp, data }` as the Standard Webhooks
 * specification has them, `timestamp` being when the event happened. A message, click or conversion
 * carries the business's own `externalId` (its CRM id) where one was given, never a phone number.
 */

export type WebhookEvent = { type: WebhookEventType; timestamp: string; data: Record<string, unknown> };

/** The specification's limit for a body; what chatfunnel sends is bounded far below it. */
export const MAX_BODY_BYTES = 20_000;

export function clickEvent(click: SliceClick): WebhookEvent {
  return {
    type: "link.clicked",
    timestamp: toIso(click.occurredAt)!,
    data: {
      clickId: click.id,
      linkCode: click.linkCode,
      campaignId: click.campaignId,
      variant: click.variant,
      messageId: click.messageId,
      externalId: click.externalId,
      occurredAt: toIso(click.occurredAt),
      country: click.country,
      device: click.device,
      os: click.os,
      browser: click.browser,
    },
  };
}

export function conversionEvent(conversion: SliceConversion): WebhookEvent {
  return {
    type: "conversion.created",
    timestamp: toIso(conversion.occurredAt)!,
    data: {
      conversionId: conversion.id,
      event: conversion.event,
      value: conversion.value,
      currency: conversion.currency,
      orderId: conversion.orderId,
      clickId: conversion.clickId,
      linkCode: conversion.linkCode,
      campaignId: conversion.campaignId,
      variant: conversion.variant,
      messageId: conversion.messageId,
      externalId: conversion.externalId,
      occurredAt: toIso(conversion.occurredAt),
    },
  };
}

/** A message reaching delivered, read, replied or failed; a failure says why, and whether Meta limited it. */
export function messageEvent(message: SliceMessage): WebhookEvent {
  const data: Record<string, unknown> = {
    messageId: message.id,
    campaignId: message.campaignId,
    variant: message.variant,
    linkCode: message.linkCode,
    externalId: message.externalId,
    occurredAt: toIso(message.occurredAt),
  };
  if (message.type === "message.failed") {
    const code = firstErrorCode(message.errors);
    Object.assign(data, { errorCode: code, limited: code === LIMITED_ERROR, experiment: code === EXPERIMENT_ERROR });
  }
  return { type: message.type, timestamp: toIso(message.occurredAt) ?? new Date(0).toISOString(), data };
}
