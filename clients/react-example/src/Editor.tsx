import type { Alumnus, AlumnusPatch, Versioned } from '@alumnid/client';
import { getGetAlumnusQueryOptions, isEditConflict, updateAlumnusMutationOptions } from '@alumnid/client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ProblemMessage } from './Problem';

export function Editor({ id, onClose }: { id: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const record = useQuery(getGetAlumnusQueryOptions(id));
  const [saved, setSaved] = useState(false);
  const save = useMutation(updateAlumnusMutationOptions(queryClient));

  if (record.isPending) return <section className="editor" role="status">Loading record…</section>;
  if (record.isError) return <section className="editor"><ProblemMessage error={record.error} /></section>;

  return (
    <section className="editor" aria-label="Record">
      <h2>
        {record.data.data.firstName} {record.data.data.lastName}
      </h2>
      {isEditConflict(save.error) && (
        <p role="alert" className="conflict">
          Someone else changed this record while you were editing it. The form now shows their version; make your
          change again and save.
        </p>
      )}
      {save.isError && !isEditConflict(save.error) && <ProblemMessage error={save.error} />}
      {saved && !save.isError && <p role="status">Saved.</p>}
      {/* A new version (after a save or a conflict) resets the form. */}
      <EditForm
        key={record.data.etag}
        current={record.data}
        saving={save.isPending}
        onSave={(patch) => {
          setSaved(false);
          save.mutate({ current: record.data, patch }, { onSuccess: () => setSaved(true) });
        }}
      />
      <button type="button" onClick={onClose}>
        Close
      </button>
    </section>
  );
}

const nullIfEmpty = (v: FormDataEntryValue | null) => (String(v ?? '').trim() === '' ? null : String(v).trim());

function EditForm(props: { current: Versioned<Alumnus>; saving: boolean; onSave: (p: AlumnusPatch) => void }) {
  const a = props.current.data;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        props.onSave({
          firstName: String(f.get('firstName')).trim(),
          lastName: String(f.get('lastName')).trim(),
          address: { city: nullIfEmpty(f.get('city')) },
          employment: { employer: nullIfEmpty(f.get('employer')), jobTitle: nullIfEmpty(f.get('jobTitle')) },
        });
      }}
    >
      <label>
        First name <input name="firstName" defaultValue={a.firstName} required />
      </label>
      <label>
        Last name <input name="lastName" defaultValue={a.lastName} required />
      </label>
      <label>
        City <input name="city" defaultValue={a.address?.city ?? ''} />
      </label>
      <label>
        Employer <input name="employer" defaultValue={a.employment?.employer ?? ''} />
      </label>
      <label>
        Job title <input name="jobTitle" defaultValue={a.employment?.jobTitle ?? ''} />
      </label>
      <button type="submit" disabled={props.saving}>
        {props.saving ? 'Saving…' : 'Save'}
      </button>
      <small className="muted"> version {props.current.etag}</small>
    </form>
  );
}
