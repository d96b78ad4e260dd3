// Reference logs for tlm.transport's TLM-2.0 semantics, produced by the Accellera
// TLM-2.0 library shipped with SystemC 2.3.4 (Debian libsystemc-dev). Build and
// regenerate with `sh regenerate.sh`. Each line: time in ps, sc_delta_count(),
// message. Every scenario runs in its own microsecond, so the lines of one
// time stamp come from one scenario; the order of processes inside one delta
// cycle is implementation-defined, the delta and the time are not.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/peq_with_cb_and_phase.h>
#include <tlm_utils/peq_with_get.h>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace sc_core;
using namespace tlm;

static void say(const std::string& m) {
    std::cout << sc_time_stamp().value() << " " << sc_delta_count() << " " << m << "\n";
}
static std::string ps(const sc_time& t) { std::ostringstream s; s << t.value(); return s.str(); }
static const char* sync_name(tlm_sync_enum s) {
    return s == TLM_ACCEPTED ? "ACCEPTED" : s == TLM_UPDATED ? "UPDATED" : "COMPLETED";
}
static std::string phase_name(const tlm_phase& p) { std::ostringstream s; s << p; return s.str(); }

// ---- s1: a target that waits inside b_transport (t = 0) ----------------------------------
struct S1Target : sc_module {
    tlm_utils::simple_target_socket<S1Target> sock;
    SC_CTOR(S1Target) : sock("sock") { sock.register_b_transport(this, &S1Target::b_transport); }
    void b_transport(tlm_generic_payload& tr, sc_time& t) {
        say("s1: target entered with delay " + ps(t));
        wait(20, SC_NS);
        t += sc_time(3, SC_NS);
        tr.set_response_status(TLM_OK_RESPONSE);
        say("s1: target leaves");
    }
};
struct S1Init : sc_module {
    tlm_utils::simple_initiator_socket<S1Init> sock;
    SC_CTOR(S1Init) : sock("sock") { SC_THREAD(run); }
    void run() {
        wait(10, SC_NS);
        tlm_generic_payload tr; unsigned char buf[4];
        tr.set_command(TLM_READ_COMMAND); tr.set_address(0); tr.set_data_ptr(buf); tr.set_data_length(4);
        sc_time t(5, SC_NS);
        sock->b_transport(tr, t);
        say("s1: initiator got delay " + ps(t) + (tr.is_response_ok() ? " ok" : " error"));
        wait(t);
        say("s1: initiator synchronised");
    }
};

// ---- s2: nb_transport_fw into a target with only b_transport (t = 1 us) --------------------
struct S2Target : sc_module {
    tlm_utils::simple_target_socket<S2Target> sock;
    SC_CTOR(S2Target) : sock("sock") { sock.register_b_transport(this, &S2Target::b_transport); }
    void b_transport(tlm_generic_payload& tr, sc_time& t) {
        say("s2: target b_transport " + std::to_string(tr.get_address()) + " delay " + ps(t));
        wait(10, SC_NS);
        t += sc_time(5, SC_NS);
        tr.set_response_status(TLM_OK_RESPONSE);
    }
};
struct S2Init : sc_module {
    tlm_utils::simple_initiator_socket<S2Init> sock;
    sc_event resp;
    SC_CTOR(S2Init) : sock("sock") {
        sock.register_nb_transport_bw(this, &S2Init::bw);
        SC_THREAD(run);
    }
    tlm_sync_enum bw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        say("s2: bw " + phase_name(ph) + " for " + std::to_string(tr.get_address()));
        resp.notify(t);
        return TLM_ACCEPTED;
    }
    void one(tlm_generic_payload& tr, uint64_t addr, sc_time d) {
        tr.set_address(addr);
        tlm_phase ph = BEGIN_REQ;
        tlm_sync_enum s = sock->nb_transport_fw(tr, ph, d);
        say(std::string("s2: BEGIN_REQ returned ") + sync_name(s));
        wait(resp);
        ph = END_RESP; sc_time z = SC_ZERO_TIME;
        s = sock->nb_transport_fw(tr, ph, z);
        say(std::string("s2: END_RESP returned ") + sync_name(s));
    }
    void run() {
        wait(1000, SC_NS);
        tlm_generic_payload tr; unsigned char buf[4];
        tr.set_command(TLM_READ_COMMAND); tr.set_data_ptr(buf); tr.set_data_length(4);
        one(tr, 16, sc_time(2, SC_NS));
        one(tr, 32, SC_ZERO_TIME);
    }
};

// ---- s3: b_transport into a target with only nb_transport_fw (t = 2 us) ---------------------
struct S3Target : sc_module {
    tlm_utils::simple_target_socket<S3Target> sock;
    tlm_utils::peq_with_cb_and_phase<S3Target> peq;
    SC_CTOR(S3Target) : sock("sock"), peq(this, &S3Target::on_peq) {
        sock.register_nb_transport_fw(this, &S3Target::fw);
    }
    tlm_sync_enum fw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        say("s3: target fw " + phase_name(ph) + " for " + std::to_string(tr.get_address()));
        if (ph == BEGIN_REQ && tr.get_address() == 16) {   // early completion
            tr.set_response_status(TLM_OK_RESPONSE);
            t += sc_time(6, SC_NS);
            return TLM_COMPLETED;
        }
        if (ph == BEGIN_REQ) {
            peq.notify(tr, END_REQ, sc_time(3, SC_NS));
            peq.notify(tr, BEGIN_RESP, sc_time(8, SC_NS));
            return TLM_ACCEPTED;
        }
        return TLM_COMPLETED;
    }
    void on_peq(tlm_generic_payload& tr, const tlm_phase& ph) {
        tlm_phase p = ph; sc_time z = SC_ZERO_TIME;
        if (p == BEGIN_RESP) tr.set_response_status(TLM_OK_RESPONSE);
        tlm_sync_enum s = sock->nb_transport_bw(tr, p, z);
        say("s3: target bw " + phase_name(ph) + " returned " + sync_name(s));
    }
};
struct S3Init : sc_module {
    tlm_utils::simple_initiator_socket<S3Init> sock;
    SC_CTOR(S3Init) : sock("sock") { SC_THREAD(run); }
    void run() {
        wait(2000, SC_NS);
        tlm_generic_payload tr; unsigned char buf[4];
        tr.set_command(TLM_WRITE_COMMAND); tr.set_data_ptr(buf); tr.set_data_length(4);
        tr.set_address(0);
        sc_time t(4, SC_NS);
        sock->b_transport(tr, t);
        say("s3: b_transport returned delay " + ps(t) + (tr.is_response_ok() ? " ok" : " error"));
        tr.set_address(16); tr.set_response_status(TLM_INCOMPLETE_RESPONSE);
        t = SC_ZERO_TIME;
        sock->b_transport(tr, t);
        say("s3: b_transport returned delay " + ps(t) + (tr.is_response_ok() ? " ok" : " error"));
    }
};

// ---- s4: DMI denial ranges (t = 3 us) ------------------------------------------------------
struct S4Deny : sc_module {
    tlm_utils::simple_target_socket<S4Deny> sock;
    SC_CTOR(S4Deny) : sock("sock") { sock.register_get_direct_mem_ptr(this, &S4Deny::dmi); }
    bool dmi(tlm_generic_payload& tr, tlm_dmi& d) {
        if (tr.get_address() < 0x100) return false;        // range left at its default
        d.set_start_address(0x100); d.set_end_address(0x1ff);
        return false;
    }
};
struct S4NoDmi : sc_module {
    tlm_utils::simple_target_socket<S4NoDmi> sock;
    SC_CTOR(S4NoDmi) : sock("sock") {}
};
struct S4Init : sc_module {
    tlm_utils::simple_initiator_socket<S4Init> a, b;
    SC_CTOR(S4Init) : a("a"), b("b") { SC_THREAD(run); }
    void ask(tlm_utils::simple_initiator_socket<S4Init>& s, const char* who, uint64_t addr) {
        tlm_generic_payload tr; tlm_dmi d;
        tr.set_command(TLM_READ_COMMAND); tr.set_address(addr);
        bool ok = s->get_direct_mem_ptr(tr, d);
        std::ostringstream m;
        m << "s4: " << who << " @" << addr << (ok ? " granted " : " denied ")
          << d.get_start_address() << " " << d.get_end_address();
        say(m.str());
    }
    void run() {
        wait(3000, SC_NS);
        ask(a, "deny", 0x180);
        ask(a, "deny", 0x10);
        ask(b, "none", 0x10);
    }
};

// ---- s5: payload event queues (t = 4 us) -----------------------------------------------------
struct S5 : sc_module {
    tlm_utils::peq_with_cb_and_phase<S5> peq;
    tlm_utils::peq_with_get<tlm_generic_payload> gq;
    tlm_generic_payload p[12];
    SC_CTOR(S5) : peq(this, &S5::cb), gq("gq") {
        for (int i = 0; i < 12; ++i) p[i].set_address(i);
        SC_THREAD(run); SC_THREAD(getter); SC_THREAD(producer);
    }
    static std::string n(const tlm_generic_payload& t) { return std::string(1, char('A' + t.get_address())); }
    void cb(tlm_generic_payload& t, const tlm_phase& ph) { say("s5: cb " + n(t) + " " + phase_name(ph)); }
    void run() {
        wait(4000, SC_NS);
        say("s5: put A +5ns, B delta, C immediate");
        peq.notify(p[0], BEGIN_REQ, sc_time(5, SC_NS));
        peq.notify(p[1], END_REQ, SC_ZERO_TIME);
        peq.notify(p[2], BEGIN_RESP);
        wait(10, SC_NS);
        say("s5: put D +10ns");
        peq.notify(p[3], BEGIN_REQ, sc_time(10, SC_NS));
        wait(10, SC_NS);
        say("s5: put E delta while D is due now");
        peq.notify(p[4], END_REQ, SC_ZERO_TIME);
        wait(10, SC_NS);
        say("s5: put F +5ns, G delta, then cancel_all");
        peq.notify(p[5], BEGIN_REQ, sc_time(5, SC_NS));
        peq.notify(p[6], BEGIN_REQ, SC_ZERO_TIME);
        peq.cancel_all();
        wait(10, SC_NS);
        say("s5: put H +1ns");
        peq.notify(p[7], END_RESP, sc_time(1, SC_NS));
    }
    void getter() {
        while (true) {
            wait(gq.get_event());
            tlm_generic_payload* t;
            while ((t = gq.get_next_transaction()) != 0) say("s5: got " + n(*t));
        }
    }
    void producer() {
        wait(4100, SC_NS);
        say("s5: put I +5ns, J +5ns, K +7ns");
        gq.notify(p[8], sc_time(5, SC_NS));
        gq.notify(p[9], sc_time(5, SC_NS));
        gq.notify(p[10], sc_time(7, SC_NS));
        wait(20, SC_NS);
        say("s5: put L immediate");
        gq.notify(p[11]);
        wait(10, SC_NS);
        say("s5: put I +3ns then cancel_all");
        gq.notify(p[8], sc_time(3, SC_NS));
        gq.cancel_all();
    }
};

// ---- s6: multi-sockets (t = 5 us) -------------------------------------------------------------
struct S6Simple : sc_module {
    tlm_utils::simple_target_socket<S6Simple> sock;
    SC_CTOR(S6Simple) : sock("sock") { sock.register_b_transport(this, &S6Simple::b_transport); }
    void b_transport(tlm_generic_payload& tr, sc_time& t) { say("s6: simple target b_transport"); t += sc_time(1, SC_NS); }
};
struct S6Multi : sc_module {
    tlm_utils::multi_passthrough_target_socket<S6Multi> sock;
    tlm_generic_payload* open; int open_id;
    SC_CTOR(S6Multi) : sock("sock"), open(0), open_id(-1) {
        sock.register_b_transport(this, &S6Multi::b_transport);
        sock.register_nb_transport_fw(this, &S6Multi::fw);
        SC_THREAD(responder);
    }
    sc_event go;
    void b_transport(int id, tlm_generic_payload& tr, sc_time& t) {
        say("s6: multi target b_transport from " + std::to_string(id));
        t += sc_time(2 + id, SC_NS);
    }
    tlm_sync_enum fw(int id, tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        say("s6: multi target fw " + phase_name(ph) + " from " + std::to_string(id));
        if (ph == BEGIN_REQ) { open = &tr; open_id = id; go.notify(2, SC_NS); return TLM_ACCEPTED; }
        return TLM_COMPLETED;
    }
    void responder() {
        while (true) {
            wait(go);
            tlm_phase ph = BEGIN_RESP; sc_time z = SC_ZERO_TIME;
            tlm_sync_enum s = sock[open_id]->nb_transport_bw(*open, ph, z);
            say(std::string("s6: multi target bw to ") + std::to_string(open_id) + " returned " + sync_name(s));
        }
    }
};
struct S6MultiInit : sc_module {
    tlm_utils::multi_passthrough_initiator_socket<S6MultiInit> sock;
    SC_CTOR(S6MultiInit) : sock("sock") { SC_THREAD(run); }
    void run() {
        wait(5000, SC_NS);
        tlm_generic_payload tr;
        for (unsigned i = 0; i < sock.size(); ++i) {
            sc_time t = SC_ZERO_TIME;
            sock[i]->b_transport(tr, t);
            say("s6: multi initiator port " + std::to_string(i) + " delay " + ps(t));
        }
    }
};
struct S6Init : sc_module {
    tlm_utils::simple_initiator_socket<S6Init> sock;
    sc_event resp;
    SC_CTOR(S6Init) : sock("sock") { sock.register_nb_transport_bw(this, &S6Init::bw); SC_THREAD(run); }
    tlm_sync_enum bw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        say("s6: initiator bw " + phase_name(ph));
        resp.notify(SC_ZERO_TIME);
        return TLM_ACCEPTED;
    }
    void run() {
        wait(5010, SC_NS);
        tlm_generic_payload tr;
        sc_time t = SC_ZERO_TIME;
        sock->b_transport(tr, t);
        say("s6: initiator b_transport delay " + ps(t));
        tlm_phase ph = BEGIN_REQ; t = SC_ZERO_TIME;
        tlm_sync_enum s = sock->nb_transport_fw(tr, ph, t);
        say(std::string("s6: initiator BEGIN_REQ returned ") + sync_name(s));
        wait(resp);
        ph = END_RESP; t = SC_ZERO_TIME;
        s = sock->nb_transport_fw(tr, ph, t);
        say(std::string("s6: initiator END_RESP returned ") + sync_name(s));
    }
};

// ---- s7: hierarchical binding (t = 6 us) -----------------------------------------------------
struct S7InnerTarget : sc_module {
    tlm_utils::simple_target_socket<S7InnerTarget> sock;
    sc_event go; tlm_generic_payload* open;
    SC_CTOR(S7InnerTarget) : sock("sock"), open(0) {
        sock.register_b_transport(this, &S7InnerTarget::b_transport);
        sock.register_nb_transport_fw(this, &S7InnerTarget::fw);
        SC_METHOD(respond); sensitive << go; dont_initialize();
    }
    void b_transport(tlm_generic_payload& tr, sc_time& t) { say("s7: inner target b_transport"); t += sc_time(4, SC_NS); }
    tlm_sync_enum fw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        say("s7: inner target fw " + phase_name(ph));
        if (ph == BEGIN_REQ) { open = &tr; go.notify(3, SC_NS); return TLM_ACCEPTED; }
        return TLM_COMPLETED;
    }
    void respond() {
        tlm_phase ph = BEGIN_RESP; sc_time z = SC_ZERO_TIME;
        tlm_sync_enum s = sock->nb_transport_bw(*open, ph, z);
        say(std::string("s7: inner target bw returned ") + sync_name(s));
    }
};
struct S7OuterTarget : sc_module {
    tlm_target_socket<> sock;
    S7InnerTarget inner;
    SC_CTOR(S7OuterTarget) : sock("sock"), inner("inner") { sock.bind(inner.sock); }
};
struct S7InnerInit : sc_module {
    tlm_utils::simple_initiator_socket<S7InnerInit> sock;
    sc_event resp;
    SC_CTOR(S7InnerInit) : sock("sock") { sock.register_nb_transport_bw(this, &S7InnerInit::bw); SC_THREAD(run); }
    tlm_sync_enum bw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        say("s7: inner initiator bw " + phase_name(ph));
        resp.notify(SC_ZERO_TIME);
        return TLM_ACCEPTED;
    }
    void run() {
        wait(6000, SC_NS);
        tlm_generic_payload tr;
        sc_time t = SC_ZERO_TIME;
        sock->b_transport(tr, t);
        say("s7: inner initiator b_transport delay " + ps(t));
        tlm_phase ph = BEGIN_REQ; t = SC_ZERO_TIME;
        tlm_sync_enum s = sock->nb_transport_fw(tr, ph, t);
        say(std::string("s7: inner initiator BEGIN_REQ returned ") + sync_name(s));
        wait(resp);
        ph = END_RESP; t = SC_ZERO_TIME;
        s = sock->nb_transport_fw(tr, ph, t);
        say(std::string("s7: inner initiator END_RESP returned ") + sync_name(s));
    }
};
struct S7OuterInit : sc_module {
    tlm_initiator_socket<> sock;
    S7InnerInit inner;
    SC_CTOR(S7OuterInit) : sock("sock"), inner("inner") { inner.sock.bind(sock); }
};

// ---- s8: analysis ports (t = 7 us) ------------------------------------------------------------
struct S8Sub : sc_object, tlm_analysis_if<int> {
    std::string who;
    S8Sub(const char* n) : sc_object(n), who(n) {}
    void write(const int& v) { say("s8: " + who + " got " + std::to_string(v)); }
};
struct S8 : sc_module {
    tlm_analysis_port<int> ap, inner;
    S8Sub s1, s2, s3;
    SC_CTOR(S8) : ap("ap"), inner("inner"), s1("sub1"), s2("sub2"), s3("sub3") {
        ap.bind(s1); ap.bind(inner); ap.bind(s2); inner.bind(s3);
        SC_THREAD(run);
    }
    void run() {
        wait(7000, SC_NS);
        ap.write(42);
        wait(1, SC_NS);
        ap.write(7);
    }
};

// ---- s9: extended (ignorable) phases (t = 8 us) -----------------------------------------------
DECLARE_EXTENDED_PHASE(probe);
struct S9Target : sc_module {
    tlm_utils::simple_target_socket<S9Target> sock;
    bool knows;
    S9Target(sc_module_name n, bool k) : sc_module(n), sock("sock"), knows(k) {
        sock.register_nb_transport_fw(this, &S9Target::fw);
    }
    tlm_sync_enum fw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        if (ph == BEGIN_REQ) { ph = BEGIN_RESP; return TLM_UPDATED; }
        if (ph == END_RESP) return TLM_COMPLETED;
        if (knows && ph == probe) {
            say(std::string(name()) + ": target got " + phase_name(ph));
            tlm_phase back = probe; sc_time z = SC_ZERO_TIME;
            tlm_sync_enum s = sock->nb_transport_bw(tr, back, z);
            say(std::string(name()) + ": bw probe returned " + sync_name(s));
        }
        return TLM_ACCEPTED;   // an unknown (ignorable) phase is ignored
    }
};
struct S9Init : sc_module {
    tlm_utils::simple_initiator_socket<S9Init> a, b;
    SC_CTOR(S9Init) : a("a"), b("b") {
        a.register_nb_transport_bw(this, &S9Init::bw);
        b.register_nb_transport_bw(this, &S9Init::bw);
        SC_THREAD(run);
    }
    tlm_sync_enum bw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) { return TLM_ACCEPTED; }
    void one(tlm_utils::simple_initiator_socket<S9Init>& s, const char* who) {
        tlm_generic_payload tr;
        tlm_phase ph = BEGIN_REQ; sc_time t = SC_ZERO_TIME;
        tlm_sync_enum r = s->nb_transport_fw(tr, ph, t);
        say(std::string("s9: ") + who + " BEGIN_REQ returned " + sync_name(r) + " " + phase_name(ph));
        ph = probe;
        r = s->nb_transport_fw(tr, ph, t);
        say(std::string("s9: ") + who + " probe returned " + sync_name(r));
        ph = END_RESP;
        r = s->nb_transport_fw(tr, ph, t);
        say(std::string("s9: ") + who + " END_RESP returned " + sync_name(r));
    }
    void run() {
        wait(8000, SC_NS);
        one(a, "knows");
        wait(1, SC_NS);
        one(b, "ignores");
    }
};

// ---- s10: extensions and a memory manager (t = 9 us) --------------------------------------------
struct S10Ext : tlm_extension<S10Ext> {
    int value;
    S10Ext(int v = 0) : value(v) {}
    tlm_extension_base* clone() const { return new S10Ext(value); }
    void copy_from(const tlm_extension_base& e) { value = static_cast<const S10Ext&>(e).value; }
};
struct S10Mm : tlm_mm_interface {
    std::vector<tlm_generic_payload*> pool; int made;
    S10Mm() : made(0) {}
    tlm_generic_payload* allocate() {
        if (!pool.empty()) { tlm_generic_payload* t = pool.back(); pool.pop_back(); return t; }
        ++made;
        return new tlm_generic_payload(this);
    }
    void free(tlm_generic_payload* t) {
        say("s10: mm free, refs " + std::to_string(t->get_ref_count()));
        pool.push_back(t);
    }
};
struct S10Target : sc_module {
    tlm_utils::simple_target_socket<S10Target> sock;
    tlm_generic_payload* held;
    SC_CTOR(S10Target) : sock("sock"), held(0) { sock.register_b_transport(this, &S10Target::b_transport); SC_THREAD(later); }
    sc_event drop;
    void b_transport(tlm_generic_payload& tr, sc_time& t) {
        tr.acquire(); held = &tr;
        say("s10: target holds it, refs " + std::to_string(tr.get_ref_count()));
        drop.notify(5, SC_NS);
    }
    void later() {
        while (true) {
            wait(drop);
            say("s10: target releases it");
            held->release();
        }
    }
};
struct S10Init : sc_module {
    tlm_utils::simple_initiator_socket<S10Init> sock;
    S10Mm mm;
    SC_CTOR(S10Init) : sock("sock") { SC_THREAD(run); }
    void run() {
        wait(9000, SC_NS);
        tlm_generic_payload* tr = mm.allocate();
        tr->acquire();
        say("s10: acquired, refs " + std::to_string(tr->get_ref_count()));
        S10Ext* ext = new S10Ext(7);
        tr->set_extension(ext);
        tr->set_command(TLM_WRITE_COMMAND); tr->set_address(0x40);
        tlm_generic_payload copy;
        copy.deep_copy_from(*tr);
        S10Ext* cext = copy.get_extension<S10Ext>();
        say("s10: copy has ext " + std::to_string(cext->value) + (cext != ext ? " (a clone)" : " (shared)")
            + " address " + std::to_string(copy.get_address()));
        cext->value = 9;
        tr->update_extensions_from(copy);
        say("s10: original ext after update " + std::to_string(ext->value));
        sc_time t = SC_ZERO_TIME;
        sock->b_transport(*tr, t);
        tr->release();
        say("s10: initiator released, refs " + std::to_string(tr->get_ref_count()));
        wait(10, SC_NS);
        tlm_generic_payload* again = mm.allocate();
        say(std::string("s10: reallocated ") + (again == tr ? "the pooled payload" : "a new payload")
            + ", made " + std::to_string(mm.made));
        copy.clear_extension(cext);
    }
};


// ---- s11: b_transport into nb-only targets answering by return (t = 10 us) -------------------
struct S11Target : sc_module {
    tlm_utils::simple_target_socket<S11Target> sock;
    tlm_utils::peq_with_cb_and_phase<S11Target> peq;
    SC_CTOR(S11Target) : sock("sock"), peq(this, &S11Target::on_peq) {
        sock.register_nb_transport_fw(this, &S11Target::fw);
    }
    tlm_sync_enum fw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        say("s11: target fw " + phase_name(ph) + " for " + std::to_string(tr.get_address()));
        if (ph != BEGIN_REQ) return TLM_COMPLETED;
        tr.set_response_status(TLM_OK_RESPONSE);
        if (tr.get_address() == 1) {          // request accepted by return, response later
            peq.notify(tr, BEGIN_RESP, sc_time(5, SC_NS));
            ph = END_REQ; t += sc_time(1, SC_NS);
            return TLM_UPDATED;
        }
        ph = BEGIN_RESP; t += sc_time(4, SC_NS);   // response by return
        return TLM_UPDATED;
    }
    void on_peq(tlm_generic_payload& tr, const tlm_phase& ph) {
        tlm_phase p = ph; sc_time z = SC_ZERO_TIME;
        tlm_sync_enum s = sock->nb_transport_bw(tr, p, z);
        say("s11: target bw " + phase_name(ph) + " returned " + sync_name(s));
    }
};
struct S11Init : sc_module {
    tlm_utils::simple_initiator_socket<S11Init> sock;
    SC_CTOR(S11Init) : sock("sock") { SC_THREAD(run); }
    void run() {
        wait(10000, SC_NS);
        tlm_generic_payload tr; unsigned char buf[4];
        tr.set_command(TLM_READ_COMMAND); tr.set_data_ptr(buf); tr.set_data_length(4);
        for (int a = 1; a <= 2; ++a) {
            tr.set_address(a); tr.set_response_status(TLM_INCOMPLETE_RESPONSE);
            sc_time t(2, SC_NS);
            sock->b_transport(tr, t);
            say("s11: b_transport " + std::to_string(a) + " returned delay " + ps(t) + (tr.is_response_ok() ? " ok" : " error"));
        }
    }
};

// ---- s12: two requests into a b-only target: the second response waits for END_RESP (t = 11 us)
struct S12Target : sc_module {
    tlm_utils::simple_target_socket<S12Target> sock;
    SC_CTOR(S12Target) : sock("sock") { sock.register_b_transport(this, &S12Target::b_transport); }
    void b_transport(tlm_generic_payload& tr, sc_time& t) {
        say("s12: target b_transport " + std::to_string(tr.get_address()));
        t += sc_time(2, SC_NS);
    }
};
struct S12Init : sc_module {
    tlm_utils::simple_initiator_socket<S12Init> sock;
    tlm_utils::peq_with_cb_and_phase<S12Init> peq;
    sc_event got_resp;
    SC_CTOR(S12Init) : sock("sock"), peq(this, &S12Init::end_resp) {
        sock.register_nb_transport_bw(this, &S12Init::bw);
        SC_THREAD(run);
    }
    tlm_sync_enum bw(tlm_generic_payload& tr, tlm_phase& ph, sc_time& t) {
        say("s12: bw " + phase_name(ph) + " for " + std::to_string(tr.get_address()));
        peq.notify(tr, END_RESP, sc_time(10, SC_NS));
        got_resp.notify();
        return TLM_ACCEPTED;
    }
    void end_resp(tlm_generic_payload& tr, const tlm_phase& ph) {
        tlm_phase p = END_RESP; sc_time z = SC_ZERO_TIME;
        tlm_sync_enum s = sock->nb_transport_fw(tr, p, z);
        say("s12: END_RESP for " + std::to_string(tr.get_address()) + " returned " + sync_name(s));
    }
    void run() {
        wait(11000, SC_NS);
        tlm_generic_payload t1, t2;
        t1.set_address(1); t2.set_address(2);
        tlm_phase ph = BEGIN_REQ; sc_time d(1, SC_NS);
        sock->nb_transport_fw(t1, ph, d);
        wait(got_resp);
        ph = BEGIN_REQ; d = SC_ZERO_TIME;
        tlm_sync_enum s = sock->nb_transport_fw(t2, ph, d);
        say(std::string("s12: second BEGIN_REQ returned ") + sync_name(s));
        wait(30, SC_NS);
    }
};

int sc_main(int, char*[]) {
    S1Init s1i("s1i"); S1Target s1t("s1t"); s1i.sock.bind(s1t.sock);
    S2Init s2i("s2i"); S2Target s2t("s2t"); s2i.sock.bind(s2t.sock);
    S3Init s3i("s3i"); S3Target s3t("s3t"); s3i.sock.bind(s3t.sock);
    S4Init s4i("s4i"); S4Deny s4d("s4d"); S4NoDmi s4n("s4n"); s4i.a.bind(s4d.sock); s4i.b.bind(s4n.sock);
    S5 s5("s5");
    S6MultiInit s6mi("s6mi"); S6Simple s6s("s6s"); S6Multi s6m("s6m"); S6Init s6i("s6i");
    s6mi.sock.bind(s6s.sock); s6mi.sock.bind(s6m.sock); s6i.sock.bind(s6m.sock);
    S7OuterInit s7i("s7i"); S7OuterTarget s7t("s7t"); s7i.sock.bind(s7t.sock);
    S8 s8("s8");
    S9Init s9i("s9i"); S9Target s9a("s9a", true); S9Target s9b("s9b", false);
    s9i.a.bind(s9a.sock); s9i.b.bind(s9b.sock);
    S10Init s10i("s10i"); S10Target s10t("s10t"); s10i.sock.bind(s10t.sock);
    S11Init s11i("s11i"); S11Target s11t("s11t"); s11i.sock.bind(s11t.sock);
    S12Init s12i("s12i"); S12Target s12t("s12t"); s12i.sock.bind(s12t.sock);
    sc_start(12, SC_US);
    return 0;
}
