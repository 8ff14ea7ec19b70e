import { h, uid } from './dom.ts';

/**
 * A modal <dialog>: the browser traps focus, closes it on Escape and gives focus back to the button that
 * opened it. Resolves true only when the confirm button was pressed.
 */
export function confirmDialog(opts: {
  title: string;
  body: string;
  confirmLabel: string;
  danger?: boolean;
}): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = uid('dlg-title');
    const cancel = h('button', { type: 'button', class: 'button button-secondary', value: 'cancel' }, 'Cancel');
    const confirm = h(
      'button',
      { type: 'button', class: opts.danger ? 'button button-danger' : 'button', value: 'confirm' },
      opts.confirmLabel,
    );
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, opts.title),
      h('p', {}, opts.body),
      h('div', { class: 'dialog-actions' }, cancel, confirm),
    );
    cancel.addEventListener('click', () => dialog.close('cancel'));
    confirm.addEventListener('click', () => dialog.close('confirm'));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    // Start on the safe choice.
    cancel.focus();
  });
}

/** A modal with arbitrary content (a form); returns the dialog so the caller can close it. */
export function openDialog(title: string, content: HTMLElement, onClose?: () => void): HTMLDialogElement {
  const titleId = uid('dlg-title');
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, h('h2', { id: titleId }, title), content);
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose?.();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
